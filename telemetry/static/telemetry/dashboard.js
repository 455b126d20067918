// Progressive enhancement only: choosing another tenant shows it at once. Without JavaScript the
// form's "Show" button does the same.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const picker = document.querySelector(".dashboard-filter select[name=tenant]");
  if (picker) {
    picker.addEventListener("change", function () {
      picker.form.submit();
    });
  }
});
