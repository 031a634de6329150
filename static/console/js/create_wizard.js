/* Create key wizard: live filter of the users-and-roles tables, and step links that keep what was typed.
   Every step works without this file (the filter and the rows are submit buttons). */
(function () {
  "use strict";

  var form = document.getElementById("create-key-form");
  if (!form) {
    return;
  }

  // Filter as you type; hidden rows keep their check boxes, so choices survive filtering.
  function applyFilter(input) {
    var table = document.getElementById(input.getAttribute("data-principal-filter"));
    if (!table) {
      return;
    }
    var needle = input.value.trim().toLowerCase();
    var shown = 0;
    var rows = table.querySelectorAll("tbody tr[data-filter-text]");
    rows.forEach(function (row) {
      var match = !needle || row.getAttribute("data-filter-text").indexOf(needle) !== -1;
      row.hidden = !match;
      if (match) {
        shown += 1;
      }
    });
    var empty = table.querySelector("tr[data-filter-empty]");
    if (empty) {
      empty.hidden = !(rows.length > 0 && shown === 0);
    }
  }

  form.querySelectorAll("input[data-principal-filter]").forEach(function (input) {
    applyFilter(input); // text typed before this script ran, or restored by the browser
    input.addEventListener("input", function () {
      applyFilter(input);
    });
    // With live filtering, Enter in the filter box has nothing left to do: do not submit the step.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        applyFilter(input);
      }
    });
  });

  // A visited step's link posts the current step first (as Previous does), so typed values are kept.
  document.querySelectorAll("a[data-goto-step]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
        return;
      }
      event.preventDefault();
      var goto = document.createElement("input");
      goto.type = "hidden";
      goto.name = "wizard_goto_step";
      goto.value = link.getAttribute("data-goto-step");
      form.appendChild(goto);
      form.submit();
    });
  });
})();
