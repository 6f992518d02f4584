/*
 * Keeps ReDoc's page on this site: loaded before ReDoc's bundle.
 *
 * ReDoc's side menu shows Redocly's logo from cdn.redoc.ly, and has no option to
 * leave it out (Redocly/redoc#2108): offline, the browser reports the failed
 * request. An image of that host gets an empty address instead, however it is
 * given one (ReDoc sets the src property; setAttribute is covered too), which
 * fails at once without asking any host; ReDoc then leaves the image out.
 */
(function () {
  "use strict";

  var ELSEWHERE = "https://cdn.redoc.ly/";

  function local(address) {
    return String(address).indexOf(ELSEWHERE) === 0 ? "" : address;
  }

  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set: function (address) {
      src.set.call(this, local(address));
    },
  });

  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && String(name).toLowerCase() === "src") {
      value = local(value);
    }
    return setAttribute.call(this, name, value);
  };
})();
