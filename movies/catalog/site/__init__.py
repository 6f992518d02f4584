"""The public site: a search page for the people the catalogue is for.

``/`` is one search box, and the results of a search (``?q=&genre=&ordering=&page=``)
rendered on the server; ``/movies/<id>`` a movie. Results come from the movie
list the API answers too (catalog.reads), so the page finds, orders and
counts as ``GET /api/movies`` does; suggestions as someone types come from
``/api/movies/suggest`` in the browser. Pages are cached, throttled and
invalidated as the API's reads are (catalog.web.caching).
"""
