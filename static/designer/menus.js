// Menu buttons (the editor toolbar's groups, the top bar's Developers): a <button data-menu> opens the list
// named by its aria-controls. Escape or a click elsewhere closes it; one menu is open at a time.
(function () {
  "use strict";
  function toggle(button, open) {
    var list = document.getElementById(button.getAttribute("aria-controls"));
    if (!list) return;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    list.hidden = !open;
  }
  function closeAll(except) {
    document.querySelectorAll("button[data-menu][aria-expanded='true']").forEach(function (b) {
      if (b !== except) toggle(b, false);
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-menu]");
    if (button) {
      closeAll(button);
      toggle(button, button.getAttribute("aria-expanded") !== "true");
      return;
    }
    if (!event.target.closest("[data-menu-list]")) closeAll(null);
  });
  document.addEventListener("focusin", function (event) {  // Tab past a menu's last link closes it
    var group = event.target.closest(".menu-group");
    closeAll(group ? group.querySelector("button[data-menu]") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector("button[data-menu][aria-expanded='true']");
    if (!open) return;
    toggle(open, false);
    open.focus();
  });
})();
