import pytest

from catalog.models import MAX_GENRES
from catalog.reads.query import TOO_MANY_GENRES, FilterForm
from tests.factories import GenreFactory, MovieFactory

pytestmark = pytest.mark.django_db


def names(client, query: str) -> list[str]:
    response = client.get(f"/api/movies?ordering=name&{query}")
    assert response.status_code == 200, response.content
    return [movie["name"] for movie in response.json()["results"]]


@pytest.fixture
def movies():
    drama, war, crime = (GenreFactory(name=n) for n in ("Drama", "War", "Crime"))
    for name, director, score, popularity, genres in [
        ("Paths of Glory", "Stanley Kubrick", 8.4, 86.0, [drama, war]),
        ("The Godfather", "Francis Ford Coppola", 9.2, 92.0, [drama, crime]),
        ("Dr. Strangelove", "Stanley Kubrick", 8.4, 84.0, [war]),
    ]:
        MovieFactory(
            name=name, director=director, imdb_score=score, popularity=popularity, genres=genres
        )


def test_genre_filter_needs_every_genre(client, movies):
    assert names(client, "genre=drama,war") == ["Paths of Glory"]
    assert names(client, "genre=War") == ["Dr. Strangelove", "Paths of Glory"]
    assert names(client, "genre=War,Unknown") == []


def test_genre_any_filter_needs_one_of_the_genres(client, movies):
    assert names(client, "genre_any=crime,war") == [
        "Dr. Strangelove",
        "Paths of Glory",
        "The Godfather",
    ]
    assert names(client, "genre_any=crime&genre_any=Unknown") == ["The Godfather"]
    assert names(client, "genre_any=Unknown") == []
    assert names(client, "genre=drama&genre_any=war,crime&director=kubrick") == ["Paths of Glory"]


def test_director_filter_is_a_case_insensitive_substring(client, movies):
    assert names(client, "director=KUBRICK") == ["Dr. Strangelove", "Paths of Glory"]
    assert names(client, "director=%25") == []


def test_number_ranges_are_inclusive(client, movies):
    assert names(client, "imdb_score_min=8.4&imdb_score_max=8.4") == [
        "Dr. Strangelove",
        "Paths of Glory",
    ]
    assert names(client, "popularity_min=85") == ["Paths of Glory", "The Godfather"]
    assert names(client, "popularity_max=84") == ["Dr. Strangelove"]


def test_filters_combine_with_search(client, movies):
    assert names(client, "search=the&genre=drama") == ["The Godfather"]
    assert names(client, "search=glory&director=coppola") == []


@pytest.mark.parametrize(
    "query",
    ["imdb_score_min=abc", "imdb_score_max=11", "popularity_min=-1", "popularity_max=1e999"],
)
def test_invalid_filter_values_are_400_naming_the_parameter(client, movies, query):
    response = client.get(f"/api/movies?{query}")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [query.split("=")[0]]


def test_the_filter_form_is_built_only_for_requests_that_filter(client, movies, monkeypatch):
    built = []
    build = FilterForm.__init__

    def counting_build(self, *args, **kwargs):
        built.append(self)
        build(self, *args, **kwargs)

    monkeypatch.setattr(FilterForm, "__init__", counting_build)
    assert names(client, "search=kubrick&limit=5&offset=0&unknown=1") == [
        "Dr. Strangelove",
        "Paths of Glory",
    ]
    assert built == []
    assert names(client, "search=kubrick&popularity_min=85") == ["Paths of Glory"]
    assert len(built) == 1


def test_a_list_asks_for_at_most_as_many_genres_as_a_movie_has(client, movies):
    twenty = [f"Genre {n}" for n in range(MAX_GENRES)]
    assert client.get(f"/api/movies?genre={','.join(twenty)}").json()["count"] == 0
    # The same genre spelt twice is one genre.
    again = f"/api/movies?genre={','.join(twenty)}&genre=GENRE+0"
    assert client.get(again).status_code == 200
    for query in (
        f"genre={','.join(twenty)},Drama",
        "&".join(f"genre=g{n}" for n in range(MAX_GENRES + 1)),
        "genre=" + ",".join(str(n) for n in range(1000)),
    ):
        response = client.get(f"/api/movies?{query}")
        assert response.status_code == 400
        assert response.json()["errors"] == {"genre": [TOO_MANY_GENRES]}
