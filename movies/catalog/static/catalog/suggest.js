/*
 * Suggestions under the search box while someone types, from /api/movies/suggest.
 *
 * The box becomes a combobox with a listbox popup, as in the ARIA Authoring
 * Practices' combobox pattern: Down and Up move through the suggestions (the
 * input keeps the focus, aria-activedescendant names the highlighted one),
 * Enter opens the highlighted movie, Escape closes the list, and Enter with
 * nothing highlighted submits the form: the full search. The words typed are
 * marked in each suggestion, compared as the catalogue compares them
 * (ignoring case and accents). Without JavaScript the box is a plain search
 * field and the form works as it is.
 */
(function () {
  "use strict";

  var MIN_LENGTH = 2; // characters typed before suggestions are asked for
  var DELAY_MS = 150; // typing pauses this long first
  var LIMIT = 8;
  var WORD = /[\p{L}\p{N}_]+/gu;
  var MARKS = /\p{M}/gu;

  // The text folded as the catalogue folds it, and where each folded character came from.
  function fold(text) {
    var folded = "";
    var origins = [];
    for (var i = 0; i < text.length; ) {
      var character = String.fromCodePoint(text.codePointAt(i));
      var plain = character.normalize("NFD").replace(MARKS, "").toLowerCase();
      for (var k = 0; k < plain.length; k += 1) {
        origins.push(i);
      }
      folded += plain;
      i += character.length;
    }
    origins.push(text.length);
    return { text: folded, origins: origins };
  }

  function wordsOf(text) {
    return fold(text).text.match(WORD) || [];
  }

  // ``text`` with the beginning of each of its words that a typed word begins, marked.
  function marked(text, typed) {
    var folded = fold(text);
    var fragment = document.createDocumentFragment();
    var done = 0;
    var match;
    WORD.lastIndex = 0;
    while ((match = WORD.exec(folded.text)) !== null) {
      var longest = 0;
      for (var t = 0; t < typed.length; t += 1) {
        if (typed[t].length > longest && match[0].indexOf(typed[t]) === 0) {
          longest = typed[t].length;
        }
      }
      if (!longest) {
        continue;
      }
      var start = folded.origins[match.index];
      var end = folded.origins[match.index + longest];
      fragment.appendChild(document.createTextNode(text.slice(done, start)));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(start, end);
      fragment.appendChild(mark);
      done = end;
    }
    fragment.appendChild(document.createTextNode(text.slice(done)));
    return fragment;
  }

  function enhance(input) {
    var endpoint = input.getAttribute("data-suggest");
    var movieUrl = input.getAttribute("data-movie-url");
    var list = document.createElement("ul");
    var status = document.createElement("div");
    var movies = [];
    var active = -1;
    var timer = null;
    var request = null;

    list.id = input.id + "-suggestions";
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    input.parentNode.appendChild(list);
    input.parentNode.appendChild(status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      highlight(-1);
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
    }

    function highlight(index) {
      var options = list.children;
      active = index;
      for (var i = 0; i < options.length; i += 1) {
        options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function openMovie(movie) {
      close();
      window.location.assign(movieUrl + movie.id);
    }

    function show(query, results) {
      var typed = wordsOf(query);
      movies = results;
      list.textContent = "";
      results.forEach(function (movie, index) {
        var option = document.createElement("li");
        var name = document.createElement("span");
        var meta = document.createElement("span");
        option.id = list.id + "-" + index;
        option.className = "suggestion";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        name.className = "suggestion-name";
        name.appendChild(marked(movie.name, typed));
        meta.className = "suggestion-meta";
        meta.appendChild(marked(movie.director, typed));
        option.appendChild(name);
        option.appendChild(meta);
        option.addEventListener("click", function () {
          openMovie(movie);
        });
        list.appendChild(option);
      });
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (results.length) {
        open();
        status.textContent =
          results.length + (results.length === 1 ? " suggestion" : " suggestions") +
          ": Down and Up to choose, Enter to open.";
      } else {
        close();
        status.textContent = "No suggestions: Enter searches.";
      }
    }

    function ask(query) {
      if (request) {
        request.abort();
      }
      request = new AbortController();
      var url = endpoint + "?q=" + encodeURIComponent(query) + "&limit=" + LIMIT;
      fetch(url, { headers: { Accept: "application/json" }, signal: request.signal })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (answer) {
          // Only the answer for what is in the box now.
          if (answer && input.value === query) {
            show(query, answer.results);
          }
        })
        .catch(function () {
          // Aborted or offline: the search still works without suggestions.
        });
    }

    input.addEventListener("input", function () {
      var query = input.value;
      window.clearTimeout(timer);
      if (query.trim().length < MIN_LENGTH) {
        if (request) {
          request.abort();
        }
        movies = [];
        list.textContent = "";
        status.textContent = "";
        close();
        return;
      }
      timer = window.setTimeout(function () {
        ask(query);
      }, DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) {
        return;
      }
      switch (event.key) {
        case "ArrowDown":
        case "ArrowUp":
          if (!movies.length) {
            return;
          }
          event.preventDefault();
          if (list.hidden) {
            open();
          }
          var step = event.key === "ArrowDown" ? 1 : -1;
          var last = movies.length - 1;
          var next = active + step;
          if (active === -1 && step === -1) {
            next = last;
          }
          highlight(next > last ? 0 : next < 0 ? last : next);
          break;
        case "Enter":
          if (!list.hidden && active >= 0) {
            event.preventDefault();
            openMovie(movies[active]);
          }
          break; // otherwise the form is submitted: the full search
        case "Escape":
          if (!list.hidden) {
            event.preventDefault();
            close();
          }
          break;
        default:
          break;
      }
    });

    // Clicking a suggestion must not take the focus from the box first.
    list.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    input.addEventListener("blur", close);
    input.form.addEventListener("submit", close);
    // A page restored by Back shows its box as it was left, but closed.
    window.addEventListener("pageshow", close);
  }

  function start() {
    var inputs = document.querySelectorAll("input[data-suggest]");
    for (var i = 0; i < inputs.length; i += 1) {
      enhance(inputs[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
