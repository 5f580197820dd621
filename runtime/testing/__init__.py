"""Testing bots: conversation tests (YAML scripts run over the real engine and store) and the Playwright
plugin for the webchat widget (`playwright_plugin`, loaded by pytest only when Playwright is used)."""
