"""Recorded answers: requests to the API and the site, and the answers they must get.

REQUESTS are anonymous GET (and a few HEAD) requests of the movie list, its
searches, filters, orders and pages, did_you_mean, suggestions, genres,
movies, refused parameters, unknown URLs and the site's pages, sent through
Django's test client to fixtures/imdb.json. An answer is the status, the
headers clients act on (ANSWER_HEADERS) and the body, byte for byte.
tests/test_recorded_answers.py replays them and compares each answer with the
one recorded in tests/recorded/answers.json.

The file is written for people reading a diff of it: a body with line breaks
(a page of the site) is kept as its list of lines, any other as one string;
every body is UTF-8 text. The ETag's catalogue version, the time of the
catalogue's last write, is kept as ``{version}`` (recorded_etag); the rest of
the ETag, the request's fingerprint, is kept.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.http import QueryDict
from django.test import Client
from django.utils.encoding import iri_to_uri

ANSWERS_PATH = Path(__file__).resolve().parent.parent / "recorded" / "answers.json"
# What a client acts on besides the body. Left out: Date and Content-Length,
# and the headers the security middleware adds to every response alike.
ANSWER_HEADERS = (
    "Content-Type",
    "Cache-Control",
    "Vary",
    "ETag",
    "Location",
    "Retry-After",
    "Allow",
    "Content-Security-Policy",
)
VERSION = "{version}"
_ETAG = re.compile(r'"(?P<version>[0-9]+)-(?P<fingerprint>[^"]*)"')
# Lines of difference shown for one answer, and answers shown, when they differ.
DIFF_LINES = 40
DIFFERENCES_SHOWN = 12
URL_SHOWN = 120


@dataclass(frozen=True)
class RecordedRequest:
    """One anonymous request.

    ``url`` is written as people read it (accents, spaces for ``+``) and sent
    percent-encoded as browsers send it (``uri``); commas, colons and slashes
    are sent as they are. ``count_limit`` lowers the movie list's exact count
    for this request, so that the fixture's searches are planned as broad
    searches of a large catalogue are (catalog.api.pagination.COUNT_LIMIT).
    """

    kind: str
    label: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    method: str = "GET"
    count_limit: int | None = None

    @property
    def uri(self) -> str:
        return iri_to_uri(self.url.replace(" ", "+"))

    @property
    def by_name(self) -> bool:
        """Whether the answer lists movies by name: in the database's collation."""
        query = QueryDict(urlsplit(self.uri).query)
        return query.get("ordering", "").strip() in ("name", "-name")

    def as_json(self) -> dict[str, Any]:
        sent: dict[str, Any] = {"method": self.method, "url": self.uri}
        if self.headers:
            sent["headers"] = dict(self.headers)
        if self.count_limit is not None:
            sent["count_limit"] = self.count_limit
        return {"kind": self.kind, "label": self.label, "request": sent}

    def send(self, client: Client, *, remote_addr: str):
        meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in self.headers}
        send = client.head if self.method == "HEAD" else client.get
        return send(self.uri, REMOTE_ADDR=remote_addr, **meta)


def group(kind: str, *requests: tuple) -> list[RecordedRequest]:
    """Requests of one kind: (label, url) pairs, or (label, url, {header: value})."""
    made = []
    for label, url, *rest in requests:
        headers = tuple(rest[0].items()) if rest else ()
        made.append(RecordedRequest(kind, label, url, headers))
    return made


# A count limit under which the fixture's common terms are broad searches.
BROAD_COUNT_LIMIT = 50


def broad(*requests: tuple[str, str]) -> list[RecordedRequest]:
    """Requests of the movie list counted only up to BROAD_COUNT_LIMIT: (label, url) pairs."""
    return [
        RecordedRequest("broad", label, url, count_limit=BROAD_COUNT_LIMIT)
        for label, url in requests
    ]


# Movies of the fixture, in its order (ids from 1, as it is loaded into an empty catalogue).
METROPOLIS = 1
WIZARD_OF_OZ = 32  # four genres
EIGHT_AND_A_HALF = 141  # 8½
PATHS_OF_GLORY = 158
GODFATHER = 278
AMELIE = 517
WALL_E = 675  # WALL·E
BARAKA = 823  # its director's only movie, a documentary
LAST = 824

TOO_LONG = "x" * 201
ELEVEN_TERMS = ",".join("abcdefghijk")
TWENTY_ONE_GENRES = ",".join(f"G{n}" for n in range(21))

REQUESTS: list[RecordedRequest] = [
    *group(
        "list",
        ("the first page", "/api/movies"),
        ("with a trailing slash", "/api/movies/"),
        ("five", "/api/movies?limit=5"),
        ("a hundred", "/api/movies?limit=100"),
        ("more than a hundred is a hundred", "/api/movies?limit=1000"),
        ("an empty limit is the default", "/api/movies?limit=&offset="),
        ("the second page", "/api/movies?offset=20"),
        ("an odd window", "/api/movies?limit=7&offset=3"),
        ("the slashed path's links", "/api/movies/?limit=3&offset=3"),
        ("near the end", "/api/movies?offset=800"),
        ("the last few", "/api/movies?limit=10&offset=820"),
        ("exactly past the last", "/api/movies?offset=824"),
        ("past the end", "/api/movies?offset=5000"),
        ("the deepest offset served", "/api/movies?offset=10000"),
        ("a page ending at the cap", "/api/movies?limit=100&offset=9900"),
        ("parameters the list ignores", "/api/movies?limit=2&utm_source=mail&n=1"),
        ("the last of a repeated limit", "/api/movies?limit=abc&limit=2"),
        ("format=json", "/api/movies?format=json&limit=2"),
    ),
    *group(
        "ordering",
        ("relevance without a search", "/api/movies?ordering=relevance&limit=5"),
        ("name", "/api/movies?ordering=name&limit=10"),
        ("name, second page", "/api/movies?ordering=name&limit=10&offset=10"),
        ("-name", "/api/movies?ordering=-name&limit=10"),
        ("popularity", "/api/movies?ordering=popularity&limit=10"),
        ("-popularity", "/api/movies?ordering=-popularity&limit=10"),
        ("imdb_score", "/api/movies?ordering=imdb_score&limit=10"),
        ("-imdb_score", "/api/movies?ordering=-imdb_score&limit=10"),
        ("spaces around it", "/api/movies?ordering= name &limit=3"),
        ("search, relevance", "/api/movies?search=the&ordering=relevance&limit=10"),
        ("search, name", "/api/movies?search=the&ordering=name&limit=10"),
        ("search, -name", "/api/movies?search=the&ordering=-name&limit=10"),
        ("search, popularity", "/api/movies?search=the&ordering=popularity&limit=10"),
        ("search, -popularity", "/api/movies?search=the&ordering=-popularity&limit=10"),
        ("search, imdb_score", "/api/movies?search=the&ordering=imdb_score&limit=10"),
        ("search, -imdb_score", "/api/movies?search=the&ordering=-imdb_score&limit=10"),
        (
            "score ties by id",
            "/api/movies?imdb_score_min=8.1&imdb_score_max=8.1&ordering=imdb_score",
        ),
        ("duplicate names by id", "/api/movies?search=titanic&ordering=-name"),
    ),
    *group(
        "search",
        ("a title", "/api/movies?search=titanic"),
        ("in capitals", "/api/movies?search=TITANIC"),
        ("a word of titles", "/api/movies?search=godfather"),
        ("a common word", "/api/movies?search=the"),
        ("part of a word", "/api/movies?search=father"),
        ("a director", "/api/movies?search=kubrick"),
        ("a genre", "/api/movies?search=noir"),
        ("part of genre names", "/api/movies?search=sci"),
        ("a genre and titles", "/api/movies?search=war"),
        ("without its accent", "/api/movies?search=amelie"),
        ("with its accent", "/api/movies?search=amélie"),
        ("accent in capitals", "/api/movies?search=AMÉLIE"),
        ("a director without accents", "/api/movies?search=bunuel"),
        ("a director with accents", "/api/movies?search=Almodóvar"),
        ("a letter with a stroke", "/api/movies?search=kieslowski"),
        ("a circumflex", "/api/movies?search=otomo"),
        ("a score", "/api/movies?search=8.5"),
        ("a popularity", "/api/movies?search=95.9"),
        ("a year in a title", "/api/movies?search=2001"),
        ("a number in titles", "/api/movies?search=12"),
        ("two digits", "/api/movies?search=70"),
        ("two digits with a dot", "/api/movies?search=9."),
        ("one digit", "/api/movies?search=7"),
        ("a fraction", "/api/movies?search=8½"),
        ("a colon", "/api/movies?search=3:10"),
        ("a title with a colon", "/api/movies?search=léon:"),
        ("a middle dot", "/api/movies?search=wall·e"),
        ("brackets", "/api/movies?search=[rec]"),
        ("an apostrophe", "/api/movies?search=cuckoo's"),
        ("a hyphen", "/api/movies?search=ben-hur"),
        ("dots", "/api/movies?search=de..."),
        ("two words", "/api/movies?search=the godfather"),
        ("two words, reversed", "/api/movies?search=godfather the"),
        ("two words of a title", "/api/movies?search=star wars"),
        ("a title and its director", "/api/movies?search=titanic,james"),
        ("a first and a last name", "/api/movies?search=john ford"),
        ("two genres", "/api/movies?search=drama,crime"),
        ("two genres, reversed", "/api/movies?search=crime drama"),
        ("three words", "/api/movies?search=the godfather part"),
        ("three words of a title", "/api/movies?search=star wars episode"),
        ("a director, a word and a score", "/api/movies?search=kubrick,the,8.4"),
        ("the legacy README's four terms", "/api/movies?search=the,john,70,7"),
        (
            "the legacy README's five terms",
            "/api/movies?search=the,john,70,7,war&limit=10&offset=0",
        ),
        ("the legacy README's two terms", "/api/movies?search=the,war"),
        ("the legacy README's capital", "/api/movies?search=War"),
        ("the legacy README's page", "/api/movies?search=war&limit=10&offset=0"),
        ("commas and spaces", "/api/movies?search= war , drama ,"),
        ("a repeated term", "/api/movies?search=war war"),
        ("a whole title", "/api/movies?search=the wizard of oz"),
        ("a name with its punctuation", "/api/movies?search=star wars: episode v"),
        ("nothing matches, nothing to correct", "/api/movies?search=zzqqxj"),
        ("only separators", "/api/movies?search= , ,"),
        ("empty", "/api/movies?search="),
        ("a percent sign", "/api/movies?search=%25"),
        ("an underscore", "/api/movies?search=_"),
        ("quotes: a phrase of one word, a whole word", "/api/movies?search=%22heat%22"),
        ("a phrase", "/api/movies?search=%22the dark knight%22"),
        ("a phrase across punctuation", "/api/movies?search=%22godfather part%22"),
        ("a quote never closed", "/api/movies?search=%22dark knight"),
        ("an exclusion", "/api/movies?search=godfather -ii"),
        ("exclusions alone", "/api/movies?search=-the -war&limit=3"),
        ("a lone minus", "/api/movies?search=- heat"),
        ("a director's term", "/api/movies?search=director:nolan"),
        ("a director's phrase", "/api/movies?search=director:%22francis ford%22"),
        ("a name's term", "/api/movies?search=name:war"),
        ("a genre's term and a word", "/api/movies?search=genre:war the"),
        ("a field with nothing after", "/api/movies?search=director:"),
        ("an unknown field", "/api/movies?search=year:1999"),
        (
            "a misspelt director's phrase",
            "/api/movies?search=director:%22stanley kubrik%22 -shining",
        ),
        ("a NUL between terms", "/api/movies?search=godfather%00coppola"),
        ("the last of two", "/api/movies?search=heat&search=godfather"),
        ("a page of a search", "/api/movies?search=the&limit=5&offset=5"),
        ("past a search's end", "/api/movies?search=godfather&offset=20"),
        ("a search's deepest offset", "/api/movies?search=the&limit=100&offset=10000"),
        ("a deep page of a search", "/api/movies?search=war&offset=5000"),
    ),
    *group(
        "did-you-mean",
        ("a misspelt title", "/api/movies?search=godfahter"),
        ("a misspelt word among others", "/api/movies?search=the godfahter"),
        ("two misspelt words", "/api/movies?search=shawshenk redemptoin"),
        ("a word of four letters is kept as typed", "/api/movies?search=star wras episdoe"),
        ("a misspelt director", "/api/movies?search=kubrik"),
        ("a misspelt director's name", "/api/movies?search=spielbreg"),
        ("a misspelt genre", "/api/movies?search=westren"),
        ("a genre closer to a rarer word", "/api/movies?search=horor"),
        ("a letter missing", "/api/movies?search=casablnca"),
        ("two edits in a long word", "/api/movies?search=terminatorr judgmnt"),
        ("a closer but unused word", "/api/movies?search=the wzard of oz"),
        ("a misspelt word in capitals", "/api/movies?search=TITANC"),
        ("a misspelt word with an accent", "/api/movies?search=amélei"),
        ("a short word is never corrected", "/api/movies?search=hest"),
        ("a number is never corrected", "/api/movies?search=godfather 1972"),
        ("a word that corrects to nothing", "/api/movies?search=xylophonist"),
        ("nonsense", "/api/movies?search=qwertyuiop asdfghjkl"),
        ("correct words that find nothing together", "/api/movies?search=godfather kubrick"),
        ("with a genre the correction keeps", "/api/movies?search=godfahter&genre=Crime"),
        ("with a genre the correction lacks", "/api/movies?search=godfahter&genre=Comedy"),
        ("with a director", "/api/movies?search=shinning&director=kubrick"),
        ("with an ordering", "/api/movies?search=titanik&ordering=name"),
        ("on a later page", "/api/movies?search=godfahter&offset=20"),
        ("an apostrophe's word", "/api/movies?search=schindlr's"),
    ),
    *group(
        "filter",
        ("a genre", "/api/movies?genre=Drama"),
        ("a genre in lower case", "/api/movies?genre=drama"),
        ("a genre in capitals", "/api/movies?genre=DRAMA"),
        ("a genre with spaces around it", "/api/movies?genre= War "),
        ("a hyphenated genre", "/api/movies?genre=Film-Noir"),
        ("two genres, comma-separated", "/api/movies?genre=Drama,War"),
        ("two genres, repeated", "/api/movies?genre=Drama&genre=War"),
        ("two genres, reversed", "/api/movies?genre=War,Drama"),
        ("three genres", "/api/movies?genre=Crime,Drama,Thriller"),
        ("the same genre twice", "/api/movies?genre=war,War"),
        ("an unknown genre", "/api/movies?genre=Zydeco"),
        ("a known and an unknown genre", "/api/movies?genre=Drama,Zydeco"),
        ("blank genres", "/api/movies?genre=,%20,&limit=2"),
        ("twenty genres", "/api/movies?genre=" + ",".join(f"G{n}" for n in range(20))),
        ("a director", "/api/movies?director=kubrick"),
        ("a director in capitals", "/api/movies?director=KUBRICK"),
        ("a director without accents", "/api/movies?director=bunuel"),
        ("a director with accents", "/api/movies?director=Buñuel"),
        ("part of directors' names", "/api/movies?director=john"),
        ("a director's full name", "/api/movies?director=Sergio Leone"),
        ("a blank director", "/api/movies?director=%20&limit=2"),
        ("no such director", "/api/movies?director=nobody"),
        ("a title is no director", "/api/movies?director=godfather"),
        ("a least score", "/api/movies?imdb_score_min=8.8"),
        ("a greatest score", "/api/movies?imdb_score_max=7"),
        ("a score range", "/api/movies?imdb_score_min=8&imdb_score_max=8.2&limit=5"),
        ("a least popularity", "/api/movies?popularity_min=90"),
        ("a greatest popularity", "/api/movies?popularity_max=60"),
        ("a popularity range", "/api/movies?popularity_min=70&popularity_max=70.5"),
        (
            "the whole ranges",
            "/api/movies?imdb_score_min=0&imdb_score_max=10&popularity_min=0&popularity_max=100&limit=3",
        ),
        ("an empty range", "/api/movies?imdb_score_min=9&imdb_score_max=8"),
        ("the top score only", "/api/movies?imdb_score_min=10"),
        ("an integer bound", "/api/movies?popularity_min=95"),
        (
            "genres, a score, by score",
            "/api/movies?genre=drama,crime&imdb_score_min=8.5&ordering=-imdb_score",
        ),
        ("a search and a director", "/api/movies?search=the&director=kubrick"),
        (
            "a search, a genre and a popularity",
            "/api/movies?search=war&genre=Drama&popularity_min=80",
        ),
        (
            "a genre and a director, by score",
            "/api/movies?genre=Western&director=leone&ordering=-imdb_score",
        ),
        ("a search and a genre", "/api/movies?search=star wars&genre=Sci-Fi"),
        (
            "everything",
            "/api/movies?search=the&genre=Drama&director=a&imdb_score_min=8&popularity_max=90&ordering=name&limit=5&offset=2",
        ),
    ),
    *broad(
        ("a common word", "/api/movies?search=the"),
        ("its second page", "/api/movies?search=the&offset=20"),
        ("names that are the query", "/api/movies?search=titanic,a&limit=5"),
        ("names beginning with the query", "/api/movies?search=star&limit=5"),
        ("a genre's term", "/api/movies?search=drama&limit=10"),
        ("two terms", "/api/movies?search=the a&limit=10"),
        ("with a filter", "/api/movies?search=the&genre=Drama&limit=10"),
        ("by popularity", "/api/movies?search=the&ordering=-popularity&limit=5"),
        ("by name", "/api/movies?search=a&ordering=name&limit=5"),
        ("the whole list", "/api/movies?limit=5&offset=45"),
        ("past the count", "/api/movies?limit=5&offset=60"),
        ("a genre's list", "/api/movies?genre=Drama&limit=5"),
    ),
    *group(
        "suggest",
        ("a word's beginning", "/api/movies/suggest?q=god"),
        ("more of it", "/api/movies/suggest?q=godf"),
        ("a whole word", "/api/movies/suggest?q=godfather"),
        ("a word and a beginning", "/api/movies/suggest?q=the godf"),
        ("a common word", "/api/movies/suggest?q=the"),
        ("one letter", "/api/movies/suggest?q=t"),
        ("two words", "/api/movies/suggest?q=star w"),
        ("three words", "/api/movies/suggest?q=star wars e"),
        ("a word typed, another coming", "/api/movies/suggest?q=godfather "),
        ("a director's beginning", "/api/movies/suggest?q=spielb"),
        ("a title and a director", "/api/movies/suggest?q=jaws spielberg"),
        ("an accent", "/api/movies/suggest?q=amél"),
        ("without the accent", "/api/movies/suggest?q=amel"),
        ("a typo", "/api/movies/suggest?q=godfater"),
        ("a typo in the first word", "/api/movies/suggest?q=the godfahter"),
        ("a typo in a director", "/api/movies/suggest?q=kubrik"),
        ("a beginning of a longer name", "/api/movies/suggest?q=nosfer"),
        ("a number", "/api/movies/suggest?q=2001"),
        ("a wrong number", "/api/movies/suggest?q=2002 a space"),
        ("punctuation", "/api/movies/suggest?q=léon: the pro"),
        ("a middle dot", "/api/movies/suggest?q=wall e"),
        ("nothing", "/api/movies/suggest?q=zzqqxj"),
        ("blank", "/api/movies/suggest?q=%20%20"),
        ("no query", "/api/movies/suggest"),
        ("one", "/api/movies/suggest?q=the&limit=1"),
        ("twenty", "/api/movies/suggest?q=the&limit=20"),
        ("an empty limit", "/api/movies/suggest?q=war&limit="),
        ("with a trailing slash", "/api/movies/suggest/?q=heat"),
    ),
    *group(
        "genres",
        ("the list", "/api/genres"),
        ("with a trailing slash", "/api/genres/"),
        ("five", "/api/genres?limit=5"),
        ("the last page", "/api/genres?limit=5&offset=20"),
        ("past the end", "/api/genres?offset=22"),
        ("parameters of the movie list mean nothing", "/api/genres?search=war&ordering=name"),
        ("a genre", "/api/genres/1"),
        ("the last genre", "/api/genres/22/"),
    ),
    *group(
        "movie",
        ("the first", f"/api/movies/{METROPOLIS}"),
        ("two genres", f"/api/movies/{GODFATHER}"),
        ("with a trailing slash", f"/api/movies/{GODFATHER}/"),
        ("four genres", f"/api/movies/{WIZARD_OF_OZ}"),
        ("an accented name", f"/api/movies/{AMELIE}"),
        ("a fraction in its name", f"/api/movies/{EIGHT_AND_A_HALF}"),
        ("a middle dot in its name", f"/api/movies/{WALL_E}"),
        ("the last", f"/api/movies/{LAST}"),
    ),
    *group(
        "accept",
        ("list, no Accept", "/api/movies?search=godfather"),
        ("list, JSON", "/api/movies?search=godfather", {"Accept": "application/json"}),
        ("list, anything", "/api/movies?search=godfather", {"Accept": "*/*"}),
        (
            "list, indented",
            "/api/movies?search=godfather",
            {"Accept": "application/json; indent=2"},
        ),
        (
            "list, a type not offered",
            "/api/movies?search=godfather",
            {"Accept": "application/xml"},
        ),
        ("movie, JSON", f"/api/movies/{GODFATHER}", {"Accept": "application/json"}),
        ("suggestions, JSON", "/api/movies/suggest?q=godf", {"Accept": "application/json"}),
        ("genres, JSON", "/api/genres", {"Accept": "application/json"}),
        ("a refused parameter, JSON", "/api/movies?limit=0", {"Accept": "application/json"}),
        ("the site, JSON", "/?q=godfather", {"Accept": "application/json"}),
        ("the site, HTML", "/?q=godfather", {"Accept": "text/html,application/xhtml+xml"}),
        ("a movie page, JSON", f"/movies/{GODFATHER}", {"Accept": "application/json"}),
    ),
    *group(
        "bad-request",
        ("limit: letters", "/api/movies?limit=abc"),
        ("limit: zero", "/api/movies?limit=0"),
        ("limit: negative", "/api/movies?limit=-1"),
        ("limit: a fraction", "/api/movies?limit=1.5"),
        ("offset: negative", "/api/movies?offset=-5"),
        ("offset: letters", "/api/movies?offset=abc"),
        ("offset: past the cap", "/api/movies?offset=10001"),
        ("offset: huge", "/api/movies?offset=99999999999999"),
        ("search: too long", f"/api/movies?search={TOO_LONG}"),
        ("search: too many terms", f"/api/movies?search={ELEVEN_TERMS}"),
        ("ordering: a field not offered", "/api/movies?ordering=director"),
        ("ordering: doubled sign", "/api/movies?ordering=--name"),
        ("ordering: two fields", "/api/movies?ordering=name,imdb_score"),
        ("genre: too many", f"/api/movies?genre={TWENTY_ONE_GENRES}"),
        ("genre: a NUL", "/api/movies?genre=%00"),
        ("director: a NUL", "/api/movies?director=%00"),
        ("imdb_score_min: letters", "/api/movies?imdb_score_min=abc"),
        ("imdb_score_min: above the range", "/api/movies?imdb_score_min=11"),
        ("imdb_score_max: below the range", "/api/movies?imdb_score_max=-1"),
        ("popularity_max: above the range", "/api/movies?popularity_max=101"),
        ("popularity_min: not a number", "/api/movies?popularity_min=NaN"),
        ("two bad bounds", "/api/movies?imdb_score_min=x&popularity_max=y"),
        ("a bad limit and a bad ordering", "/api/movies?limit=abc&ordering=x"),
        (
            "a bad search and a bad genre list",
            f"/api/movies?search={TOO_LONG}&genre={TWENTY_ONE_GENRES}",
        ),
        ("suggest limit: zero", "/api/movies/suggest?q=war&limit=0"),
        ("suggest limit: above twenty", "/api/movies/suggest?q=war&limit=21"),
        ("suggest limit: letters", "/api/movies/suggest?q=war&limit=abc"),
        ("suggest q: too long", f"/api/movies/suggest?q={TOO_LONG}"),
        ("suggest q: too many words", "/api/movies/suggest?q=" + " ".join("abcdefghijk")),
        ("genres limit: letters", "/api/genres?limit=abc"),
        ("genres offset: negative", "/api/genres?offset=-1"),
    ),
    *group(
        "not-found",
        ("no such movie", "/api/movies/999999"),
        ("movie id zero", "/api/movies/0"),
        ("a movie id of letters", "/api/movies/abc"),
        ("a movie id too long", "/api/movies/1234567890123456789"),
        ("no such genre", "/api/genres/999"),
        ("no such API path", "/api/nothing-here"),
        ("no such movie page", "/movies/999999"),
        ("a movie page of letters", "/movies/abc"),
        ("no such page", "/films"),
    ),
    *group(
        "site",
        ("the home page", "/"),
        ("a blank search is the home page", "/?q=+,+"),
        ("parameters the page ignores", "/?utm_source=mail"),
        ("a title", "/?q=godfather"),
        ("two words", "/?q=the godfather"),
        ("two genres as terms", "/?q=drama,crime"),
        ("their second page", "/?q=drama,crime&page=2"),
        ("their last page", "/?q=drama,crime&page=3"),
        ("past the end", "/?q=drama,crime&page=9"),
        ("the deepest page asked for, past the end", "/?q=godfather&page=501"),
        ("by name", "/?q=the&ordering=name"),
        ("by score", "/?q=the&ordering=-imdb_score"),
        ("by least popular", "/?q=the&ordering=popularity"),
        ("best match asked for", "/?q=the&ordering=relevance"),
        ("a search and a genre chip", "/?q=war&genre=Drama"),
        ("a genre alone", "/?genre=Film-Noir"),
        ("two genres, comma-separated", "/?genre=Crime,Drama"),
        ("two genres, repeated", "/?genre=Crime&genre=Drama"),
        ("a genre in lower case, by score", "/?genre=western&ordering=-imdb_score"),
        ("a genre without a search: no best match", "/?genre=Drama&ordering=relevance"),
        ("a search and a chosen chip", "/?q=drama,crime&genre=Thriller"),
        ("a search and two chosen chips", "/?q=drama,crime&genre=Thriller&genre=War"),
        ("an unknown genre", "/?genre=drama&genre=Zydeco Westerns"),
        ("did you mean", "/?q=the godfahter&genre=Crime"),
        ("did you mean, taken as typed", "/?q=the godfahter&genre=Crime&verbatim=1"),
        ("did you mean a title", "/?q=titanik"),
        ("did you mean a title of four words", "/?q=the wizzard of oz"),
        ("an empty result", "/?q=zzqqxj"),
        ("an empty result with a genre", "/?q=zzqqxj&genre=War"),
        ("an accent", "/?q=amélie"),
        ("two digits", "/?q=70"),
        ("one result", "/?q=casablanca"),
        ("markup in the query", '/?q=<b>heat</b> %26 "co"'),
        ("markup in a genre", "/?genre=<i>War</i>"),
    ),
    *group(
        "site-movie",
        ("a movie", f"/movies/{GODFATHER}"),
        ("with a trailing slash", f"/movies/{GODFATHER}/"),
        ("four genres", f"/movies/{WIZARD_OF_OZ}"),
        ("an accented name", f"/movies/{AMELIE}"),
        ("a fraction in its name", f"/movies/{EIGHT_AND_A_HALF}"),
        ("a middle dot in its name", f"/movies/{WALL_E}"),
        ("a director of many", f"/movies/{PATHS_OF_GLORY}"),
        ("its director's only movie", f"/movies/{BARAKA}"),
        ("the first", f"/movies/{METROPOLIS}"),
    ),
    *group(
        "site-refused",
        ("q: too long", f"/?q={TOO_LONG}"),
        ("q: too many terms", "/?q=" + " ".join("abcdefghijk")),
        ("ordering: not offered", "/?q=war&ordering=year"),
        ("page: zero", "/?q=war&page=0"),
        ("page: letters", "/?q=war&page=two"),
        ("page: past the deepest", "/?q=war&page=502"),
        ("genre: a NUL", "/?q=war&genre=Dr%00ama"),
        ("genre: too many", f"/?genre={TWENTY_ONE_GENRES}"),
        ("genre: none such", "/?genre=Nonexistent"),
        ("verbatim: neither 1 nor 0", "/?q=war&verbatim=yes"),
    ),
    RecordedRequest("head", "the home page", "/", method="HEAD"),
    RecordedRequest("head", "a page of results", "/?q=godfather", method="HEAD"),
    RecordedRequest("head", "the movie list", "/api/movies?limit=2", method="HEAD"),
    RecordedRequest("head", "a movie", f"/api/movies/{GODFATHER}", method="HEAD"),
]


def recorded_etag(etag: str, version: int) -> str:
    """The ETag with the catalogue's version as ``{version}``: the rest as it was."""
    found = _ETAG.fullmatch(etag)
    if found is None or found["version"] != str(version):
        return etag
    return f'"{VERSION}-{found["fingerprint"]}"'


def answer_of(response, *, version: int) -> dict[str, Any]:
    """What is recorded of a response: status, headers and body."""
    headers = {name: response[name] for name in ANSWER_HEADERS if response.has_header(name)}
    if "ETag" in headers:
        headers["ETag"] = recorded_etag(headers["ETag"], version)
    text = response.content.decode("utf-8")
    body: str | list[str] = text.split("\n") if "\n" in text else text
    return {"status": response.status_code, "headers": headers, "body": body}


def body_text(answer: dict[str, Any]) -> str:
    body = answer["body"]
    return "\n".join(body) if isinstance(body, list) else body


def read_answers(path: Path = ANSWERS_PATH) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["answers"]


def write_answers(answers: list[dict[str, Any]], path: Path = ANSWERS_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "about": (
            "Anonymous requests and their answers on fixtures/imdb.json; replayed by "
            "tests/test_recorded_answers.py, which says how to record them again."
        ),
        "answers": answers,
    }
    text = json.dumps(document, ensure_ascii=False, indent=1)
    path.write_text(text + "\n", encoding="utf-8")


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _readable_lines(text: str, content_type: str) -> list[str]:
    """A body's lines for a diff: in JSON, each key of an object on a line of its own,
    and each item of a list (a movie of ``results``), so that a change shows as a line."""
    if not content_type.startswith("application/json"):
        return text.split("\n")
    try:
        data = json.loads(text)
    except ValueError:
        return text.split("\n")
    if not isinstance(data, dict):
        return [_compact(data)]
    lines = []
    for name, value in data.items():
        if isinstance(value, list) and value:
            lines += [f"{name}: [", *(f"  {_compact(item)}" for item in value), "]"]
        else:
            lines.append(f"{name}: {_compact(value)}")
    return lines


def difference(
    expected: dict[str, Any],
    actual: dict[str, Any],
    *,
    names: tuple[str, str] = ("recorded", "now"),
) -> str | None:
    """How ``actual`` differs from ``expected``, briefly; None when it does not."""
    before_name, now_name = names
    parts = []
    if expected["status"] != actual["status"]:
        parts.append(f"status {expected['status']} {before_name}, {actual['status']} {now_name}")
    for name in sorted(set(expected["headers"]) | set(actual["headers"])):
        before, now = expected["headers"].get(name), actual["headers"].get(name)
        if before != now:
            parts.append(f"{name}: {before!r} {before_name}, {now!r} {now_name}")
    before, now = body_text(expected), body_text(actual)
    if before != now:
        content_type = actual["headers"].get("Content-Type", "")
        old, new = _readable_lines(before, content_type), _readable_lines(now, content_type)
        if old == new:  # only the layout differs: show the bytes
            old, new = before.split("\n"), now.split("\n")
        lines = list(difflib.unified_diff(old, new, before_name, now_name, n=2, lineterm=""))
        if len(lines) > DIFF_LINES:
            lines = [*lines[:DIFF_LINES], f"... {len(lines) - DIFF_LINES} more lines"]
        parts.append("body:\n" + "\n".join(lines))
    return "\n".join(parts) if parts else None


def describe(recorded: dict[str, Any]) -> str:
    """A recorded request as one line: kind, label, method and URL."""
    sent = recorded["request"]
    extra = "".join(f" [{name}: {value}]" for name, value in sent.get("headers", {}).items())
    if "count_limit" in sent:
        extra += f" [count limit {sent['count_limit']}]"
    url = sent["url"]
    if len(url) > URL_SHOWN:
        url = f"{url[:URL_SHOWN]}... ({len(url)} characters)"
    return f"{recorded['kind']}: {recorded['label']}: {sent['method']} {url}{extra}"
