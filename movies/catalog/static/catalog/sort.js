/*
 * The sort selector of a page of results applies the order as soon as it is chosen: the
 * form is submitted on change, and its button, needed without JavaScript, is hidden.
 */
(function () {
  "use strict";

  function start() {
    var forms = document.querySelectorAll("form.sort");
    for (var i = 0; i < forms.length; i += 1) {
      var form = forms[i];
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.hidden = true;
      }
      form.querySelector("select").addEventListener("change", function (event) {
        event.target.form.submit();
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
