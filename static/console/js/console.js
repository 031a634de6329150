/* consoleclone: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Menus are <details class="menu">: close them on a click outside or on Escape, as the console's menus do.
  function openMenus() {
    return document.querySelectorAll("details.menu[open]");
  }

  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.removeAttribute("open");
      }
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    openMenus().forEach(function (menu) {
      const hadFocus = menu.contains(document.activeElement);
      menu.removeAttribute("open");
      if (hadFocus) {
        menu.querySelector("summary").focus();
      }
    });
  });

  // Opening one menu closes the others.
  document.addEventListener(
    "toggle",
    function (event) {
      const menu = event.target;
      if (!(menu instanceof HTMLDetailsElement) || !menu.classList.contains("menu") || !menu.open) {
        return;
      }
      openMenus().forEach(function (other) {
        if (other !== menu) {
          other.removeAttribute("open");
        }
      });
    },
    true,
  );
})();
