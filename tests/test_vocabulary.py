"""The vocabulary follows every write path, and did_you_mean agrees with a brute-force
reference written from the definition, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import itertools
import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from catalog import vocabulary, writes
from catalog.models import Genre, Movie, Word
from catalog.search import Search, search_movies
from catalog.writes import import_records
from tests.factories import GenreFactory, MovieFactory, record
from tests.support.reference import (
    reference_did_you_mean,
    reference_words,
)

# -- pure functions ---------------------------------------------------------------------


def test_words_are_runs_of_word_characters_normalised_without_digits():
    assert vocabulary.words_of("Amélie, l'ÉTÉ 2049 Se7en Blade_Runner ﬁlm") == {
        "amelie",
        "l",
        "ete",
        "blade_runner",
        "film",
    }
    assert vocabulary.movie_words("Heat", "Michael Mann") == {"heat", "michael", "mann"}
    assert vocabulary.words_of("8½ !!") == set()


@pytest.mark.parametrize(
    ("term", "edits"),
    [
        ("the", 0),
        ("godf", 0),
        ("heart", 1),
        ("godfathr", 1),
        ("godfathers", 2),
        ("2024", 0),
        ("terminat0r", 0),
        ("blade2runner", 0),
    ],
)
def test_the_edits_a_term_may_be_from_its_correction(term, edits):
    assert vocabulary.allowed_edits(term) == edits


@pytest.mark.parametrize(
    ("term", "word", "edits"),
    [
        ("whie", "white", 1),  # the longer word counts: five letters, one deleted
        ("whie", "whi", 0),
        ("nosfearu", "nosferatu", 2),
        ("godfathr", "godfather", 2),
        ("heart", "hearts", 1),
        ("2024", "20245", 0),
    ],
)
def test_the_longer_word_says_how_many_edits_are_allowed(term, word, edits):
    assert vocabulary.allowed_edits(term, word) == edits
    assert vocabulary.allowed_edits(word, term) == edits


@pytest.mark.parametrize(
    ("term", "reach"), [("the", 0), ("whie", 1), ("heart", 1), ("godfath", 2), ("x2024", 0)]
)
def test_a_term_reaches_as_far_as_the_longest_word_it_may_stand_for(term, reach):
    assert vocabulary.reach(term) == reach


def test_distance_counts_a_swap_of_neighbours_as_one_edit():
    assert vocabulary.distance("haert", "heart") == 1
    assert vocabulary.distance("hart", "heart") == 1
    assert vocabulary.distance("hxart", "heart") == 1
    assert vocabulary.distance("godfathre", "godfather") == 1
    assert vocabulary.distance("ca", "abc") == 3  # OSA, not Damerau-Levenshtein's 2


def test_the_closest_word_has_fewest_edits_then_most_movies_then_comes_first():
    words = {"heart": 1, "heard": 5, "hearts": 9, "beard": 5, "heat": 2}
    assert vocabulary.closest("hearr", words) == ["heard"]  # heard and heart: 1 edit
    assert vocabulary.closest("xeard", words) == ["beard"]  # beard, heard: 5 movies each
    assert vocabulary.closest("xeard", words, count=3) == ["beard", "heard"]
    assert vocabulary.closest("hart", words, count=3) == ["heart"]  # four letters, one deleted
    assert vocabulary.closest("qqqqq", words) == []


def pg_trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of a word of plain lowercase letters."""
    padded = f"  {word} "
    return {padded[start : start + 3] for start in range(len(word) + 1)}


def one_edit_variants(word: str) -> set[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in letters}
    inserts = {a + c + b for a, b in splits for c in letters}
    return deletes | swaps | replaces | inserts


def test_the_trigram_threshold_never_loses_a_word_within_the_allowed_edits():
    rng = random.Random(0)
    for length in range(5, 14):
        for _ in range(20):
            word = "".join(rng.choice("abcdeeeeinorst") for _ in range(length))
            variants = one_edit_variants(word)
            if length >= 9:  # two edits: a sample of edits of edits
                variants = {
                    second
                    for first in rng.sample(sorted(variants), 20)
                    for second in one_edit_variants(first)
                }
            for term in variants:
                edits = vocabulary.allowed_edits(term, word)
                if not edits or vocabulary.distance(term, word) > edits:
                    continue
                threshold = vocabulary.trigram_threshold(term, edits)
                if threshold is None:
                    continue  # every word of the right length is a candidate
                mine, its = pg_trigrams(term), pg_trigrams(word)
                similarity = len(mine & its) / len(mine | its)
                assert similarity >= threshold, (term, word)


# -- the stored vocabulary follows every write ------------------------------------------


def stored_words() -> dict[str, int]:
    return dict(Word.objects.values_list("word", "movies"))


def assert_vocabulary_is_right() -> None:
    assert stored_words() == reference_words()


@pytest.fixture
def catalogue(db):
    drama, war = GenreFactory(name="Drama"), GenreFactory(name="War Film")
    MovieFactory(name="Heat", director="Michael Mann", genres=[drama])
    MovieFactory(name="Paths of Glory", director="Stanley Kubrick", genres=[drama, war])
    MovieFactory(name="The Shining", director="Stanley Kubrick")
    MovieFactory(name="Amélie 2001", director="Jean-Pierre Jeunet")
    assert_vocabulary_is_right()
    return {"drama": drama, "war": war}


def test_creating_movies_and_genres_counts_their_words(catalogue):
    assert stored_words()["kubrick"] == 2
    assert stored_words()["drama"] == 1
    assert "2001" not in stored_words()


def test_the_api_writes_keep_the_vocabulary(catalogue, editor_client):
    created = editor_client.post(
        "/api/movies",
        {
            "name": "Barry Lyndon",
            "director": "Stanley Kubrick",
            "popularity": 70,
            "imdb_score": 8.1,
            "genre": ["Drama", "Costume Drama"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert_vocabulary_is_right()
    movie_id = created.json()["id"]
    changed = editor_client.patch(
        f"/api/movies/{movie_id}", {"director": "S. Kubrick"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert_vocabulary_is_right()
    put = editor_client.put(
        f"/api/movies/{movie_id}",
        {"name": "Lyndon", "director": "Kubrick", "popularity": 1, "imdb_score": 1, "genre": []},
        format="json",
    )
    assert put.status_code == 200, put.content
    assert_vocabulary_is_right()
    assert editor_client.delete(f"/api/movies/{movie_id}").status_code == 204
    assert_vocabulary_is_right()
    assert "lyndon" not in stored_words()


def test_genre_renames_and_deletions_through_the_api(catalogue, editor_client):
    war = catalogue["war"]
    renamed = editor_client.patch(f"/api/genres/{war.pk}", {"name": "Warfare"}, format="json")
    assert renamed.status_code == 200, renamed.content
    assert_vocabulary_is_right()
    assert "film" not in stored_words()
    assert (
        editor_client.post("/api/genres", {"name": "Film Noir"}, format="json").status_code == 201
    )
    assert_vocabulary_is_right()
    assert editor_client.delete(f"/api/genres/{war.pk}").status_code == 204
    assert_vocabulary_is_right()


def movie_id(name: str) -> int:
    return Movie.objects.get(name=name).pk


WRITES = {
    "genre rename": lambda c: writes.rename_genre(c["war"].pk, name="Drama War"),
    "genre delete": lambda c: writes.delete_genre(c["drama"].pk),
    "every genre deleted": lambda c: writes.delete_genres(
        Genre.objects.values_list("pk", flat=True)
    ),
    "genre create": lambda c: writes.create_genre(name="Neo-Noir"),
    "movie rename": lambda c: writes.update_movie(movie_id("Heat"), name="Heat Wave"),
    "movie director": lambda c: writes.update_movie(movie_id("Heat"), director="Mann"),
    "movie of other fields": lambda c: writes.update_movie(movie_id("Heat"), popularity=1.0),
    "movie delete": lambda c: writes.delete_movie(movie_id("The Shining")),
    "movies deleted together": lambda c: writes.delete_movies(
        Movie.objects.filter(director="Stanley Kubrick").values_list("pk", flat=True)
    ),
    "movie genres replaced": lambda c: writes.update_movie(movie_id("Heat"), genres=["War"]),
    "genres created by name": lambda c: writes.update_movie(
        movie_id("Heat"), genres=["Drama", "Neo-Noir", "Neo Noir"]
    ),
    "movie create": lambda c: writes.create_movie(
        name="Full Metal Jacket",
        director="Stanley Kubrick",
        popularity=1,
        imdb_score=1,
        genres=["War", "Film Noir"],
    ),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_every_write_keeps_the_vocabulary(catalogue, write):
    write(catalogue)
    assert_vocabulary_is_right()


def test_the_admin_keeps_the_vocabulary(catalogue, admin_client):
    drama = catalogue["drama"]
    fields = {"director": "Orson Welles", "popularity": "80", "imdb_score": "8.3"}
    added = admin_client.post(
        "/admin/catalog/movie/add/", {**fields, "name": "Citizen Kane", "genres": [drama.pk]}
    )
    assert added.status_code == 302
    assert_vocabulary_is_right()
    movie = Movie.objects.get(name="Citizen Kane")
    edited = admin_client.post(
        f"/admin/catalog/movie/{movie.pk}/change/", {**fields, "name": "Touch of Evil"}
    )
    assert edited.status_code == 302
    assert_vocabulary_is_right()
    assert "kane" not in stored_words()
    genre = admin_client.post(f"/admin/catalog/genre/{drama.pk}/change/", {"name": "Melodrama"})
    assert genre.status_code == 302
    assert_vocabulary_is_right()
    deleted = admin_client.post(f"/admin/catalog/movie/{movie.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert_vocabulary_is_right()
    deleted = admin_client.post(f"/admin/catalog/genre/{drama.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert_vocabulary_is_right()


def test_populate_db_creates_and_reimports_keeping_the_vocabulary(catalogue, write_catalogue):
    records = [
        record(name="Heat"),  # already there: updated, its words unchanged
        record(name="Ran", director="Akira Kurosawa", genre=["Drama", "Jidaigeki"]),
        record(name="Ikiru", director="Akira Kurosawa", genre=[]),
        record(name="Ikiru", director="Akira Kurosawa", genre=["Drama"]),  # repeated
    ]
    call_command("populate_db", str(write_catalogue(records)), stdout=StringIO())
    assert_vocabulary_is_right()
    assert stored_words()["akira"] == 2
    call_command("populate_db", str(write_catalogue(records)), stdout=StringIO())
    assert_vocabulary_is_right()


@pytest.mark.parametrize("flush_at", [100_000, 3], ids=["at the end", "along the way"])
def test_an_import_into_an_empty_catalogue_counts_every_word(db, monkeypatch, flush_at):
    monkeypatch.setattr("catalog.bulk._NewWords.FLUSH_AT", flush_at)
    records = [record(name=f"Movie {n} of Night", director=f"Director {n % 7}") for n in range(50)]
    import_records(records=records, batch_size=16)
    assert_vocabulary_is_right()
    assert stored_words()["night"] == 50


def test_recount_genres_rebuilds_a_vocabulary_changed_behind_the_writes(catalogue):
    Word.objects.filter(word="kubrick").update(movies=7)
    Word.objects.filter(word="heat").delete()
    Word.objects.create(word="ghost", movies=1)
    out = StringIO()
    call_command("recount_genres", stdout=out)
    assert_vocabulary_is_right()
    assert "Repaired 3 derived values." in out.getvalue()


# -- did_you_mean agrees with the brute-force reference ---------------------------------


def did_you_mean(query: str) -> str | None:
    """What the list answers: a correction is only looked for when the search finds nothing."""
    if search_movies(Movie.objects.all(), Search.parse(query)).exists():
        return None
    return vocabulary.did_you_mean(
        Search.parse(query),
        finds=lambda corrected: search_movies(Movie.objects.all(), corrected).exists(),
    )


TITLES = [
    ("The Godfather", "Francis Ford Coppola", ["Crime", "Drama"]),
    ("The Godfather Part II", "Francis Ford Coppola", ["Crime", "Drama"]),
    ("Heart of Darkness", "Nicolas Roeg", ["Adventure"]),
    ("Heat", "Michael Mann", ["Crime", "Thriller"]),
    ("The Heard", "Anonymous", ["Documentary"]),
    ("Apocalypse Now", "Francis Ford Coppola", ["War", "Drama"]),
    ("Amélie", "Jean-Pierre Jeunet", ["Romance", "Comedy"]),
    ("Blade Runner 2049", "Denis Villeneuve", ["Science Fiction"]),
    ("Metropolis", "Fritz Lang", ["Science Fiction", "Drama"]),
    ("Metropolitan", "Whit Stillman", ["Comedy"]),
    ("Casablanca", "Michael Curtiz", ["Romance", "Drama"]),
    ("Straße der Sehnsucht", "Günther Lang", ["Drama"]),
    ("Blade_Runner Cut", "Ridley Scott", ["Science Fiction"]),
]


@pytest.fixture
def titles(db):
    for name, director, genres in TITLES:
        writes.create_movie(
            name=name, director=director, popularity=50.0, imdb_score=5.0, genres=genres
        )


def typo(word: str, rng: random.Random) -> str:
    position = rng.randrange(len(word))
    kind = rng.choice(["insert", "delete", "replace", "swap"])
    letter = rng.choice("aeiourstnx")
    if kind == "insert":
        return word[:position] + letter + word[position:]
    if kind == "delete" and len(word) > 1:
        return word[:position] + word[position + 1 :]
    if kind == "swap" and position + 1 < len(word):
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    return word[:position] + letter + word[position + 1 :]


def generated_queries(count: int) -> list[str]:
    rng = random.Random(7)
    words = sorted({w for name, director, genres in TITLES for w in f"{name} {director}".split()})
    queries = ["godfathr", "heatr", "haert darkness", "metropolsi", "2024", "amelei", "strase"]
    for _ in range(count):
        chosen = rng.sample(words, rng.randint(1, 3))
        for _ in range(rng.randint(1, 2)):
            index = rng.randrange(len(chosen))
            chosen[index] = typo(chosen[index], rng)
        queries.append(rng.choice([" ", ",", "  "]).join(chosen))
    return queries


def test_did_you_mean_agrees_with_the_reference(titles):
    answers = {query: did_you_mean(query) for query in generated_queries(150)}
    assert answers == {query: reference_did_you_mean(query) for query in answers}
    # The sample exercises both outcomes.
    assert sum(answer is not None for answer in answers.values()) >= 20
    assert answers["godfathr"] == "godfather"
    assert answers["haert darkness"] == "heart darkness"


@pytest.mark.requires_postgres
def test_the_trigram_prefilter_finds_every_word_within_the_allowed_edits(titles):
    rng = random.Random(3)
    using = connection.alias
    words = [word for word in stored_words() if vocabulary.allowed_edits(word)]
    for word in words:
        for term in rng.sample(sorted(one_edit_variants(word)), 30):
            edits = vocabulary.allowed_edits(term, word)
            if edits and vocabulary.distance(term, word) <= edits:
                assert word in vocabulary.candidates(term, using), (term, word)


# -- the API ----------------------------------------------------------------------------


def test_the_list_has_did_you_mean_only_with_a_search(client, titles):
    assert "did_you_mean" not in client.get("/api/movies").json()
    found = client.get("/api/movies?search=godfather").json()
    assert found["count"] == 2
    assert found["did_you_mean"] is None
    assert client.get("/api/movies?search=").json()["did_you_mean"] is None
    missed = client.get("/api/movies?search=Godfahter,Coppola").json()
    assert (missed["count"], missed["did_you_mean"]) == (0, "godfather coppola")
    assert client.get("/api/movies?search=godfather coppola").json()["count"] == 2
    assert "did_you_mean" not in client.get("/api/genres").json()


def test_numbers_are_never_corrected(client, titles):
    assert client.get("/api/movies?search=blade 2024").json()["did_you_mean"] is None
    assert client.get("/api/movies?search=bladex 2049").json()["did_you_mean"] == "blade 2049"


def test_a_correction_that_still_finds_nothing_is_not_offered(client, titles):
    # "casablanca" and "heat" are both words, but no movie has both.
    body = client.get("/api/movies?search=casablance heat").json()
    assert (body["count"], body["did_you_mean"]) == (0, None)


@pytest.mark.django_db
def test_when_the_closest_word_finds_nothing_the_next_closest_is_tried(client):
    for n in range(3):
        MovieFactory(name=f"Ward {n}", director="Someone Else")
    MovieFactory(name="The Wizard of Oz", director="Victor Fleming")
    # "ward" is as close to "wzard" as "wizard" is, and used by more movies.
    assert vocabulary.closest(
        "wzard", vocabulary.candidates("wzard", connection.alias), count=2
    ) == [
        "ward",
        "wizard",
    ]
    body = client.get("/api/movies?search=the wzard of oz").json()
    assert body["did_you_mean"] == "the wizard of oz"


@pytest.mark.django_db
def test_each_word_of_a_term_is_corrected_on_its_own(client):
    MovieFactory(name="Prizzi's Honor", director="John Huston")
    body = client.get("/api/movies?search=prizi's honor").json()
    assert body["did_you_mean"] == "prizzi's honor"


@pytest.mark.parametrize("sizes", [[1], [3], [2, 3], [1, 4, 1, 2], [4, 4, 4]])
def test_corrections_are_tried_nearest_first_as_sorting_every_one_would(sizes):
    every = sorted(
        itertools.product(*(range(size) for size in sizes)), key=lambda steps: (sum(steps), steps)
    )
    for count in (1, 4, 100):
        assert vocabulary.closest_first(sizes, count) == every[:count]


@pytest.mark.django_db
def test_a_five_letter_word_with_a_letter_missing_is_corrected(client):
    MovieFactory(name="Snow White and the Seven Dwarfs", director="David Hand")
    body = client.get("/api/movies?search=snow whie").json()
    assert body["did_you_mean"] == "snow white"


def test_the_correction_keeps_the_other_filters(client, titles):
    assert client.get("/api/movies?search=metropolsi&genre=Comedy").json()["did_you_mean"] is None
    body = client.get("/api/movies?search=metropolsi&genre=Drama").json()
    assert body["did_you_mean"] == "metropolis"


def test_a_write_changes_the_answer_of_a_cached_list(client, editor_client, titles):
    url = "/api/movies?search=vertgo"
    assert client.get(url).json()["did_you_mean"] is None
    assert client.get(url).json()["did_you_mean"] is None  # from the cache
    created = editor_client.post(
        "/api/movies",
        {"name": "Vertigo", "director": "Alfred Hitchcock", "popularity": 90, "imdb_score": 8.3},
        format="json",
    )
    assert created.status_code == 201
    assert client.get(url).json()["did_you_mean"] == "vertigo"


def test_a_search_that_finds_nothing_costs_a_bounded_number_of_queries(
    client, titles, django_assert_num_queries
):
    # catalogue version, the genres the terms match, the matching ids (none);
    # per misspelt term: whether a word has it, its candidates (on PostgreSQL
    # with the statement setting the trigram threshold, in one query string);
    # the corrected search: the genres its terms match, whether a movie
    # matches; the versions of what that read, with the catalogue's (the
    # response cache: catalog.scopes). Both terms have 8 letters: their
    # candidates, words one edit away and words of 9 or 10 letters two edits
    # away, are read at once.
    per_term = 1 + 1
    with django_assert_num_queries(3 + 2 * per_term + 2 + 1):
        body = client.get("/api/movies?search=godfathr,coppolla").json()
    assert body["did_you_mean"] == "godfather coppola"


# -- the work one request may do ----------------------------------------------------------

GREEK = "αβγδεζηθικλμνξοπρστυφχψω"


def random_words(alphabet: str, count: int, length: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return sorted({"".join(rng.choice(alphabet) for _ in range(length)) for _ in range(count)})


def store_words(words) -> None:
    Word.objects.bulk_create([Word(word=word, movies=1) for word in words], batch_size=500)


@pytest.fixture
def candidate_reads(monkeypatch) -> list[int]:
    """How many candidates each call of vocabulary.candidates read."""
    reads: list[int] = []
    candidates = vocabulary.candidates

    def counting(term: str, using: str) -> dict[str, int]:
        found = candidates(term, using)
        reads.append(len(found))
        return found

    monkeypatch.setattr(vocabulary, "candidates", counting)
    return reads


@pytest.mark.django_db
def test_an_attack_of_many_long_words_in_another_script_reads_a_bounded_vocabulary(
    client, candidate_reads
):
    # Every word of the vocabulary has the length of the attack's words.
    store_words(random_words(GREEK, 3_000, 10, seed=1))
    attack = random_words(GREEK, 18, 10, seed=2)
    search = " ".join("-".join(attack[i : i + 2]) for i in range(0, 18, 2))
    assert len(search) <= 200
    body = client.get("/api/movies", {"search": search}).json()
    assert (body["count"], body["did_you_mean"]) == (0, None)
    assert len(candidate_reads) == vocabulary.CORRECTED_PARTS
    assert all(read <= vocabulary.CANDIDATES_READ for read in candidate_reads)


@pytest.mark.django_db
def test_a_term_reads_at_most_so_many_candidates():
    # Over two thousand words, each within two edits of the term and sharing most of
    # its trigrams.
    letters = "abcdefghijklmnopqrstuvwxyz"
    store_words(
        {f"abcdefgh{x}{y}" for x in letters for y in letters}
        | {f"{x}{y}abcdefgh" for x in letters for y in letters}
        | {f"{x}abcdefgh{y}" for x in letters for y in letters}
    )
    assert len(vocabulary.candidates("abcdefgh", connection.alias)) == vocabulary.CANDIDATES_READ


@pytest.mark.django_db
def test_past_the_fourth_misspelt_word_the_others_are_kept_as_typed(candidate_reads):
    MovieFactory(name="Crouching Tiger Hidden Dragon Returning Always", director="Ang Lee")
    # The fifth stays misspelt, so the correction finds nothing.
    assert did_you_mean("crouchng tigr hiden dragn returnig always") is None
    assert len(candidate_reads) == vocabulary.CORRECTED_PARTS
    assert did_you_mean("crouchng tigr hiden dragn returning") == (
        "crouching tiger hidden dragon returning"
    )


@pytest.mark.django_db
def test_once_its_time_is_spent_a_search_has_no_correction(settings, candidate_reads):
    MovieFactory(name="The Godfather", director="Francis Ford Coppola")
    assert did_you_mean("the godfahter") == "the godfather"
    settings.CORRECTION_BUDGET_MS = 0
    assert did_you_mean("the godfahter") is None
    assert len(candidate_reads) == 1  # the first answer's


@pytest.mark.django_db
def test_a_misspelt_word_of_another_script_is_corrected():
    store_words(random_words(GREEK, 500, 9, seed=3))
    MovieFactory(name="Καλημέρα Κόσμε", director="Κανείς")
    assert did_you_mean("καλημερα κοσμεε") == "καλημερα κοσμε"
    assert did_you_mean("καλιμερα κοσμε") == "καλημερα κοσμε"


@pytest.mark.requires_postgres
@pytest.mark.django_db
def test_the_trigram_index_finds_every_word_of_any_script_within_the_allowed_edits():
    rng = random.Random(5)
    words = random_words(GREEK, 40, 9, seed=4) + random_words("абвгдежзиклмнопрст", 40, 11, seed=5)
    words += ["blade_runner", "straße", "über_alles"]
    store_words(words)
    for word in words:
        alphabet = sorted(set(word) | set("ax_"))
        variants = {word[:i] + c + word[i:] for i in range(len(word) + 1) for c in alphabet}
        variants |= {word[:i] + word[i + 1 :] for i in range(len(word))}
        variants |= {word[:i] + c + word[i + 1 :] for i in range(len(word)) for c in alphabet}
        for term in rng.sample(sorted(variants), 25):
            edits = vocabulary.allowed_edits(term, word)
            if edits and vocabulary.distance(term, word) <= edits:
                assert word in vocabulary.candidates(term, connection.alias), (term, word)


@pytest.mark.requires_postgres
@pytest.mark.django_db
def test_a_word_of_another_script_reads_only_words_that_share_its_trigrams():
    store_words(random_words(GREEK, 3_000, 10, seed=6))
    [term] = random_words(GREEK, 1, 10, seed=7)
    assert len(vocabulary.candidates(term, connection.alias)) < 100
