// Admin pages: a "select all" box for the verification queue. Without this script each
// row's own checkbox still works, and the select-all box stays hidden.
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  if (!all) {
    return;
  }
  var boxes = Array.prototype.slice.call(
    document.querySelectorAll('input[type="checkbox"][name="membership_ids"]')
  );
  if (!boxes.length) {
    return;
  }
  all.hidden = false;
  var label = document.querySelector('label[for="select-all"]');
  function sync() {
    var checked = boxes.filter(function (box) { return box.checked; }).length;
    all.checked = checked === boxes.length;
    all.indeterminate = checked > 0 && checked < boxes.length;
  }
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
    all.indeterminate = false;
  });
  boxes.forEach(function (box) { box.addEventListener("change", sync); });
  sync();
  if (label) {
    label.hidden = false;
  }
})();
