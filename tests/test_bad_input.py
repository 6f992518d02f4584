"""Bad input to every endpoint gets the exact status, the API's error shape, and writes nothing.

Each row of the tables below is one request: malformed parameters, hostile
strings, wrong types, oversized or deeply nested bodies, wrong content types,
invalid UTF-8. Every error under /api/ must be JSON of the one shape
``{status, code, detail, errors}`` with no trace of the code behind it, and the
catalogue (rows, genre links, CatalogueVersion) must be exactly as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from django.test import Client

from catalog.models import CatalogueVersion, Genre, Movie
from tests.factories import ThreeMovies

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"status", "code", "detail", "errors"}
# What must never reach a client: tracebacks, file paths, Python reprs.
INTERNALS = ("Traceback", 'File "', "site-packages", "ErrorDetail(", "<class ")

SEEDED = ("Paths of Glory", "Heat", "Amélie")  # in the default order, -popularity
A_MOVIE = {
    "name": "Chinatown",
    "director": "Roman Polanski",
    "popularity": 80.0,
    "imdb_score": 8.2,
    "genre": ["Mystery"],  # a new genre: a partial write would show
}
DEPTH = 10_000
DEEP_ARRAY = b"[" * DEPTH + b"]" * DEPTH
DEEP_OBJECT = b'{"a":' * DEPTH + b"1" + b"}" * DEPTH
# Twice Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB).
FIVE_MB_MOVIE = json.dumps({**A_MOVIE, "name": "x" * 5_000_000}).encode()
FIVE_MB_GENRE = json.dumps({"name": "x" * 5_000_000}).encode()
INVALID_UTF8_MOVIE = json.dumps(A_MOVIE).replace("Chinatown", "China\udcfftown", 1)
INVALID_UTF8_MOVIE = INVALID_UTF8_MOVIE.encode("utf-8", "surrogateescape")
INVALID_UTF8_GENRE = b'{"name": "Film-\xff\xfeNoir"}'


def as_json(value) -> bytes:
    return json.dumps(value).encode()


def movie_with(**fields) -> bytes:
    return as_json({**A_MOVIE, **fields})


@dataclass(frozen=True)
class Bad:
    """One request and the answer it must get.

    ``path`` may name ``{movie}`` or ``{genre}``: Heat's or Drama's id. ``query``
    is sent as the raw query string, byte for byte. ``names`` is the parameter
    or field the error's ``errors`` must name; ``results`` are the movie names
    a 200 list must answer, in order.
    """

    method: str
    path: str
    status: int
    query: str = ""
    body: bytes = field(default=b"", repr=False)
    content_type: str = "application/json"
    who: str = "staff"  # staff, anonymous, or bad-token
    headers: dict[str, str] = field(default_factory=dict)
    code: str | None = None
    names: str | None = None
    results: tuple[str, ...] | None = None


def case(label: str, method: str, path: str, status: int, **kwargs) -> pytest.param:
    return pytest.param(Bad(method, path, status, **kwargs), id=label)


def get(label: str, path: str, query: str, status: int, **kwargs) -> pytest.param:
    return case(label, "GET", path, status, query=query, who="anonymous", **kwargs)


def invalid(label: str, path: str, query: str, parameter: str) -> pytest.param:
    return get(label, path, query, 400, code="invalid", names=parameter)


LIST_PATHS = ("/api/movies", "/api/genres")

# Pagination is shared by both lists.
PAGINATION_CASES = [
    invalid(f"{path} {query}", path, query, parameter)
    for path in LIST_PATHS
    for query, parameter in [
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("limit=0", "limit"),
        ("limit=1.5", "limit"),
        ("limit=1e2", "limit"),
        ("limit=%2B5", "limit"),
        ("limit=%EF%BC%91", "limit"),  # a fullwidth digit one
        ("limit=99999999999999999999999", "limit"),
        ("limit=--5", "limit"),
        ("limit=%00", "limit"),
        ("limit=%FF", "limit"),
        ("limit=5&limit=abc", "limit"),  # the last value counts
        ("offset=-5", "offset"),
        ("offset=2.0", "offset"),
        ("offset=--5", "offset"),
        ("offset=10001", "offset"),
        ("offset=99999999999999", "offset"),
        ("offset=0&offset=-1", "offset"),
    ]
]

MOVIE_LIST_CASES = [
    # Search: bounded, and every character is an ordinary character.
    invalid("search 10,000 characters", "/api/movies", "search=" + "a" * 10_000, "search"),
    invalid("search 11 terms", "/api/movies", "search=" + ",".join("abcdefghijk"), "search"),
    get("search NUL only", "/api/movies", "search=%00", 200, results=SEEDED),
    get("search NUL separates terms", "/api/movies", "search=heat%00mann", 200, results=("Heat",)),
    get("search NUL between non-matching", "/api/movies", "search=heat%00glory", 200, results=()),
    get("search quotes", "/api/movies", "search=%27%22", 200, results=()),
    get(
        "search quoted term is a phrase",
        "/api/movies",
        "search=%22heat%22",
        200,
        results=("Heat",),
    ),
    get("search quote never closed", "/api/movies", "search=%22heat", 200, results=()),
    get("search lone minus and field", "/api/movies", "search=-%20director:", 200, results=()),
    invalid("search unknown field", "/api/movies", "search=year:1999", "search"),
    get(
        "search SQL tautology", "/api/movies", "search=%27%20OR%20%271%27%3D%271", 200, results=()
    ),
    get(
        "search SQL drop table",
        "/api/movies",
        "search=heat%27%3B%20DROP%20TABLE%20catalog_movie%3B--",
        200,
        results=(),
    ),
    get("search percent", "/api/movies", "search=%25", 200, results=()),
    get("search underscore", "/api/movies", "search=_", 200, results=()),
    get("search backslash", "/api/movies", "search=%5C", 200, results=()),
    get("search invalid UTF-8", "/api/movies", "search=%FF%FE", 200, results=()),
    # Raw bytes that are not UTF-8 are read as Latin-1 (Django's fallback): "ÿ" is a "y"
    # once its accent is ignored, as in "Stanley".
    get("search raw Latin-1 byte", "/api/movies", "search=\xff", 200, results=("Paths of Glory",)),
    get("search emoji", "/api/movies", "search=%F0%9F%8E%AC", 200, results=()),
    get(
        "search twice: the last counts",
        "/api/movies",
        "search=heat&search=glory",
        200,
        results=("Paths of Glory",),
    ),
    get("search[] is no parameter", "/api/movies", "search[]=heat", 200, results=SEEDED),
    # Filters.
    invalid("director NUL", "/api/movies", "director=%00", "director"),
    get("director SQL", "/api/movies", "director=%27%20OR%201%3D1--", 200, results=()),
    get("director percent", "/api/movies", "director=%25", 200, results=()),
    get("director underscore", "/api/movies", "director=_", 200, results=()),
    get("director invalid UTF-8", "/api/movies", "director=%C3%28", 200, results=()),
    get("director 10,000 characters", "/api/movies", "director=" + "d" * 10_000, 200, results=()),
    invalid("genre NUL", "/api/movies", "genre=%00", "genre"),
    get("genre SQL", "/api/movies", "genre=Drama%27--", 200, results=()),
    get("genre invalid UTF-8", "/api/movies", "genre=%FF", 200, results=()),
    get("genre 10,000 characters", "/api/movies", "genre=" + "g" * 10_000, 200, results=()),
    get("genre[] is no parameter", "/api/movies", "genre[]=War", 200, results=SEEDED),
    # GenreNamesFilter: "comma-separated or repeated; a movie needs all". None is War and Crime.
    get("genre repeated needs all", "/api/movies", "genre=War&genre=Crime", 200, results=()),
    get("genre comma-separated needs all", "/api/movies", "genre=War,Crime", 200, results=()),
    *(
        invalid(f"{query}", "/api/movies", query, query.split("=")[0])
        for query in (
            "imdb_score_min=abc",
            "imdb_score_min=NaN",
            "imdb_score_min=Infinity",
            "imdb_score_max=-Infinity",
            "imdb_score_min=0x10",
            "imdb_score_min=11",
            "imdb_score_max=-1",
            "imdb_score_min=1e999999",
            "imdb_score_min=" + "9" * 5_000,
            "popularity_min=%00",
            "popularity_max=101",
            "popularity_min=1.5.5",
        )
    ),
    # Ordering.
    *(
        invalid(f"ordering={value}", "/api/movies", f"ordering={value}", "ordering")
        for value in ("foo", "id", "search_text", "--name", "-", "name,popularity", "%00", "%FF")
    ),
    get("ordering[] is no parameter", "/api/movies", "ordering[]=foo", 200, results=SEEDED),
    get("limit[] is no parameter", "/api/movies", "limit[]=abc", 200, results=SEEDED),
    # Genres take only limit and offset: the movie list's parameters mean nothing there.
    get("/api/genres ordering=foo", "/api/genres", "ordering=foo", 200),
    get("/api/genres search=%00", "/api/genres", "search=%00", 200),
    get("/api/genres genre=%00", "/api/genres", "genre=%00", 200),
    get(
        "limit repeated: the last counts",
        "/api/movies",
        "limit=abc&limit=1",
        200,
        results=SEEDED[:1],
    ),
]

NOT_FOUND_CASES = (
    [
        get(f"{path}", path, "", 404, code="not_found")
        for kind in ("movies", "genres")
        for path in (
            f"/api/{kind}/999999",
            f"/api/{kind}/0",
            f"/api/{kind}/abc",
            f"/api/{kind}/-1",
            f"/api/{kind}/1.5",
            f"/api/{kind}/999999999999999999",  # the largest id the URL takes
            f"/api/{kind}/99999999999999999999",  # past a bigint
            f"/api/{kind}/%00",
            f"/api/{kind}/%FF",
            f"/api/{kind}/%27%20OR%201%3D1",
            f"/api/{kind}/{{{kind[:-1]}}}/extra",
        )
    ]
    + [get("/api/nope", "/api/nope", "", 404, code="not_found")]
)

HEADER_CASES = [
    case(
        "GET with an invalid token",
        "GET",
        "/api/movies",
        401,
        who="bad-token",
        code="authentication_failed",
    ),
    case(
        "GET accepting only XML",
        "GET",
        "/api/movies",
        406,
        who="anonymous",
        headers={"HTTP_ACCEPT": "application/xml"},
        code="not_acceptable",
    ),
    get("GET format=xml", "/api/movies", "format=xml", 404, code="not_found"),
]


def body_cases(method: str, path: str, *, five_mb: bytes, invalid_utf8: bytes, nan: bytes):
    """What every write endpoint must refuse, whatever its fields."""
    where = f"{method} {path}"
    return [
        case(f"{where} 5 MB body", method, path, 413, body=five_mb),
        case(f"{where} deeply nested array", method, path, 400, body=DEEP_ARRAY),
        case(f"{where} deeply nested object", method, path, 400, body=DEEP_OBJECT),
        case(f"{where} invalid UTF-8", method, path, 400, body=invalid_utf8, code="parse_error"),
        case(f"{where} NaN", method, path, 400, body=nan, code="parse_error"),
        case(
            f"{where} Infinity",
            method,
            path,
            400,
            code="parse_error",
            body=nan.replace(b"NaN", b"Infinity"),
        ),
        case(f"{where} truncated JSON", method, path, 400, body=b'{"name": ', code="parse_error"),
        *(
            case(
                f"{where} {content_type or 'no content type'}",
                method,
                path,
                415,
                body=body,
                content_type=content_type,
                code="unsupported_media_type",
            )
            for content_type, body in [
                ("text/plain", as_json(A_MOVIE)),
                ("application/x-www-form-urlencoded", b"name=Chinatown&director=Polanski"),
                (
                    "multipart/form-data; boundary=b",
                    b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n',
                ),
                ("application/xml", b"<movie><name>Chinatown</name></movie>"),
                ("", as_json(A_MOVIE)),
            ]
        ),
        *(
            case(
                f"{where} body {json.dumps(value)}",
                method,
                path,
                400,
                body=as_json(value),
                code="invalid",
                names="non_field_errors",
            )
            for value in (None, [], "movie", 1, True)
        ),
    ]


MOVIE_NAN = (
    b'{"name": "Chinatown", "director": "Roman Polanski", "popularity": NaN, "imdb_score": 8}'
)
GENRE_NAN = b'{"name": NaN}'


def movie_field_cases(method: str, path: str):
    where = f"{method} {path}"
    wrong = {
        "name": [None, True, [], {}, "", "   ", "\x00", "x" * 256],
        "director": [None, False, ["Polanski"], {"name": "Polanski"}, "", "\x00", "x" * 256],
        "popularity": [None, "abc", "nan", [], {}, -1, 100.5, True, False],
        "imdb_score": [None, "abc", "Infinity", [8], {}, -0.1, 11, True],
        "genre": [
            None,
            "Drama",
            1,
            {},
            {"name": "Drama"},
            [None],
            [""],
            ["   "],
            [[]],
            [{}],
            [True],
            ["a\x00"],
            ["x" * 101],
            [f"Genre {n}" for n in range(21)],
        ],
    }
    return [
        case(
            f"{where} {name}={json.dumps(value)[:40]}",
            method,
            path,
            400,
            body=movie_with(**{name: value}),
            code="invalid",
            names=name,
        )
        for name, values in wrong.items()
        for value in values
    ] + [
        case(
            f"{where} popularity 1e400",
            method,
            path,
            400,
            names="popularity",
            body=movie_with().replace(b"80.0", b"1e400"),
        ),
        case(
            f"{where} popularity of 5,000 digits",
            method,
            path,
            400,
            code="parse_error",
            body=movie_with().replace(b"80.0", b"9" * 5_000),
        ),
        case(
            f"{where} genre item deeply nested",
            method,
            path,
            400,
            body=movie_with().replace(b'["Mystery"]', DEEP_ARRAY),
        ),
    ]


def genre_field_cases(method: str, path: str):
    def name_case(label: str, value, status: int, code: str) -> pytest.param:
        body = as_json({"name": value})
        where = f"{method} {path} name={label}"
        return case(where, method, path, status, body=body, code=code, names="name")

    invalid_names = (None, True, [], ["Drama"], {}, "", "   ", "\x00", "x" * 101)
    return [
        name_case(json.dumps(value)[:40], value, 400, "invalid") for value in invalid_names
    ] + [
        name_case(label, name, 409, "conflict")
        for label, name in [("crime", "crime"), ("' WAR '", " WAR ")]
    ]


MOVIE_WRITES = [
    ("POST", "/api/movies"),
    ("PUT", "/api/movies/{movie}"),
    ("PATCH", "/api/movies/{movie}"),
]
GENRE_WRITES = [
    ("POST", "/api/genres"),
    ("PUT", "/api/genres/{genre}"),
    ("PATCH", "/api/genres/{genre}"),
]

MOVIE_WRITE_CASES = [
    *(
        bad
        for method, path in MOVIE_WRITES
        for bad in body_cases(
            method, path, five_mb=FIVE_MB_MOVIE, invalid_utf8=INVALID_UTF8_MOVIE, nan=MOVIE_NAN
        )
    ),
    *(bad for method, path in MOVIE_WRITES for bad in movie_field_cases(method, path)),
    case("POST /api/movies empty body", "POST", "/api/movies", 400, names="name"),
    case("POST /api/movies {}", "POST", "/api/movies", 400, body=b"{}", names="director"),
    case(
        "PUT /api/movies/{movie} one field",
        "PUT",
        "/api/movies/{movie}",
        400,
        body=as_json({"name": "Chinatown"}),
        names="director",
    ),
    case(
        "POST /api/movies duplicate",
        "POST",
        "/api/movies",
        409,
        code="conflict",
        body=movie_with(name="Heat", director="Michael Mann"),
        names="name",
    ),
    case(
        "PATCH /api/movies/{movie} into a duplicate",
        "PATCH",
        "/api/movies/{movie}",
        409,
        body=as_json({"name": "Paths of Glory", "director": "Stanley Kubrick"}),
        code="conflict",
    ),
    # The movie is looked up before the body is read.
    case(
        "PUT unknown movie", "PUT", "/api/movies/999999", 404, body=movie_with(), code="not_found"
    ),
    case(
        "PATCH unknown movie, bad body",
        "PATCH",
        "/api/movies/999999",
        404,
        body=DEEP_ARRAY,
        code="not_found",
    ),
    case("DELETE unknown movie", "DELETE", "/api/movies/999999", 404, code="not_found"),
    case("DELETE /api/movies/abc", "DELETE", "/api/movies/abc", 404, code="not_found"),
]

GENRE_WRITE_CASES = [
    *(
        bad
        for method, path in GENRE_WRITES
        for bad in body_cases(
            method, path, five_mb=FIVE_MB_GENRE, invalid_utf8=INVALID_UTF8_GENRE, nan=GENRE_NAN
        )
    ),
    *(bad for method, path in GENRE_WRITES for bad in genre_field_cases(method, path)),
    case("POST /api/genres {}", "POST", "/api/genres", 400, body=b"{}", names="name"),
    case(
        "PUT unknown genre",
        "PUT",
        "/api/genres/999999",
        404,
        body=as_json({"name": "Noir"}),
        code="not_found",
    ),
    case("DELETE unknown genre", "DELETE", "/api/genres/999999", 404, code="not_found"),
]

# Credentials are checked before the body is read: no parsing for strangers.
ANONYMOUS_WRITE_CASES = [
    case(
        f"anonymous {method} {path} {label}",
        method,
        path,
        401,
        who="anonymous",
        body=body,
        content_type=content_type,
        code="not_authenticated",
    )
    for method, path in [
        ("POST", "/api/movies"),
        ("PUT", "/api/movies/{movie}"),
        ("PATCH", "/api/movies/{movie}"),
        ("DELETE", "/api/movies/{movie}"),
        ("POST", "/api/genres"),
        ("PUT", "/api/genres/{genre}"),
        ("PATCH", "/api/genres/{genre}"),
        ("DELETE", "/api/genres/{genre}"),
    ]
    for label, body, content_type in [
        ("valid", movie_with(), "application/json"),
        ("5 MB", FIVE_MB_MOVIE, "application/json"),
        ("deeply nested", DEEP_ARRAY, "application/json"),
        ("text/plain", movie_with(), "text/plain"),
    ]
]


def catalogue_state() -> tuple:
    """Everything a write could change, in a comparable form."""
    return (
        list(
            Movie.objects.order_by("pk").values_list(
                "pk", "name", "director", "popularity", "imdb_score", "search_text", "updated_at"
            )
        ),
        list(Genre.objects.order_by("pk").values_list("pk", "name")),
        list(Movie.genres.through.objects.order_by("pk").values_list("movie_id", "genre_id")),
        CatalogueVersion.current(),
    )


def send(bad: Bad, *, rows: ThreeMovies, token: str):
    # A 500 must show as a status to assert on, not as an exception in the test.
    client = Client(raise_request_exception=False)
    extra = dict(bad.headers)
    if bad.query:
        extra["QUERY_STRING"] = bad.query
    if bad.who == "staff":
        extra["HTTP_AUTHORIZATION"] = f"Token {token}"
    elif bad.who == "bad-token":
        extra["HTTP_AUTHORIZATION"] = "Token 0123456789abcdef0123456789abcdef01234567"
    movie, genre = str(rows.heat.pk), str(rows.drama.pk)
    path = bad.path.replace("{movie}", movie).replace("{genre}", genre)
    return client.generic(bad.method, path, bad.body, content_type=bad.content_type, **extra)


def assert_no_internals(text: str) -> None:
    leaked = [marker for marker in INTERNALS if marker in text]
    assert not leaked, f"the answer shows {leaked}: {text[:1000]}"


def assert_api_error(response, bad: Bad) -> None:
    text = response.content.decode("utf-8", "replace")
    status, expected = response.status_code, bad.status
    assert status == expected, text[:1000]
    assert response["Content-Type"].startswith("application/json"), text[:1000]
    body = json.loads(text)
    assert set(body) == ERROR_KEYS, body
    assert body["status"] == status, body
    assert isinstance(body["code"], str), body
    assert body["code"], body
    assert isinstance(body["detail"], str), body
    assert body["detail"], body
    assert isinstance(body["errors"], dict), body
    for messages in body["errors"].values():
        assert isinstance(messages, list), body
        assert all(isinstance(message, str) for message in messages), body
    if bad.code is not None:
        assert body["code"] == bad.code, body
    if bad.names is not None:
        assert bad.names in body["errors"], body
    assert_no_internals(text)


@pytest.mark.parametrize(
    "bad",
    [
        *PAGINATION_CASES,
        *MOVIE_LIST_CASES,
        *NOT_FOUND_CASES,
        *HEADER_CASES,
        *MOVIE_WRITE_CASES,
        *GENRE_WRITE_CASES,
        *ANONYMOUS_WRITE_CASES,
    ],
)
def test_bad_input_is_refused_and_writes_nothing(bad, three_movies, editor_token):
    before = catalogue_state()

    response = send(bad, rows=three_movies, token=editor_token)

    if bad.status >= 400:
        assert_api_error(response, bad)
    else:
        status, expected = response.status_code, bad.status
        assert status == expected, response.content[:1000]
        assert_no_internals(response.content.decode("utf-8", "replace"))
        if bad.results is not None:
            assert [movie["name"] for movie in response.json()["results"]] == list(bad.results)
    assert catalogue_state() == before


# DRF coerces these the way Python does; the API accepts them and stores the coerced value.
@pytest.mark.parametrize(
    ("fields", "stored"),
    [
        pytest.param({"name": 1984}, {"name": "1984"}, id="number as name"),
        pytest.param({"director": 2.5}, {"director": "2.5"}, id="number as director"),
        pytest.param({"popularity": "50"}, {"popularity": 50.0}, id="numeric text as popularity"),
        pytest.param({"imdb_score": " 8.5 "}, {"imdb_score": 8.5}, id="numeric text as score"),
        pytest.param({"genre": [7]}, {"genre": [{"name": "7"}]}, id="number as genre name"),
        pytest.param({"genre": [7.5]}, {"genre": [{"name": "7.5"}]}, id="float as genre name"),
    ],
)
def test_scalars_of_another_type_are_coerced(fields, stored, three_movies, editor_token):
    bad = Bad("POST", "/api/movies", 201, body=movie_with(**fields))

    response = send(bad, rows=three_movies, token=editor_token)

    assert response.status_code == 201, response.content[:1000]
    movie = response.json()
    for name, value in stored.items():
        if name == "genre":
            assert [{"name": genre["name"]} for genre in movie["genre"]] == value
        else:
            assert movie[name] == value


def test_unknown_and_read_only_movie_fields_are_ignored(three_movies, editor_token):
    body = movie_with(id=424242, search_text="pwned", created_at="2000-01-01T00:00:00Z", foo=1)

    response = send(
        Bad("POST", "/api/movies", 201, body=body), rows=three_movies, token=editor_token
    )

    assert response.status_code == 201, response.content[:1000]
    assert response.json()["id"] != 424242
    assert set(response.json()) == {"id", "name", "director", "popularity", "imdb_score", "genre"}
    movie = Movie.objects.get(pk=response.json()["id"])
    assert "pwned" not in movie.search_text
    assert movie.created_at.year != 2000


def test_unknown_and_read_only_genre_fields_are_ignored(three_movies, editor_token):
    body = as_json({"name": "Film-Noir", "id": 424242, "movie_count": 99, "foo": 1})

    response = send(
        Bad("POST", "/api/genres", 201, body=body), rows=three_movies, token=editor_token
    )

    assert response.status_code == 201, response.content[:1000]
    assert response.json()["id"] != 424242
    assert response.json()["movie_count"] == 0
