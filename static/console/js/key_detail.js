/* Key details page: after htmx swaps the Key Policy section (Switch to policy view / default view),
   put keyboard focus on the element the server marked with data-focus, so it is not lost on a
   removed link. The page works without this file: the links are real links. */
(function () {
  "use strict";

  document.addEventListener("htmx:afterSettle", function (event) {
    const target = event.detail && event.detail.elt;
    const scope = target && target.isConnected ? target : document;
    const focus = scope.querySelector("[data-focus]") || document.querySelector("#key-policy [data-focus]");
    if (focus) {
      focus.removeAttribute("data-focus");
      focus.focus();
    }
  });
})();
