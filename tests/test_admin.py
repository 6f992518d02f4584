import pytest

from catalog.models import Genre, Movie
from tests.factories import GenreFactory, MovieFactory, UserFactory

pytestmark = pytest.mark.django_db


def changelist_names(response) -> list[str]:
    return [movie.name for movie in response.context["cl"].result_list]


def test_movie_search_box_uses_the_catalogue_search(admin_client):
    drama, crime = GenreFactory(name="Drama"), GenreFactory(name="Crime")
    MovieFactory(name="The Godfather", director="Francis Ford Coppola", genres=[drama, crime])
    MovieFactory(name="The Pianist", genres=[drama])
    response = admin_client.get("/admin/catalog/movie/", {"q": "drama, crime"})
    assert changelist_names(response) == ["The Godfather"]
    response = admin_client.get("/admin/catalog/movie/", {"q": "the coppola"})
    assert changelist_names(response) == ["The Godfather"]


def test_overlong_admin_search_shows_a_message_not_an_error(admin_client):
    MovieFactory()
    response = admin_client.get("/admin/catalog/movie/", {"q": "x" * 1000})
    assert response.status_code == 200
    assert changelist_names(response) == []
    assert "limited to" in response.content.decode()


def test_movies_filter_by_genre(admin_client):
    western = GenreFactory(name="Western")
    MovieFactory(name="Unforgiven", genres=[western])
    MovieFactory(name="Alien")
    response = admin_client.get("/admin/catalog/movie/", {"genres__id__exact": western.pk})
    assert changelist_names(response) == ["Unforgiven"]


def test_movie_list_shows_genres_without_a_query_per_row(admin_client, django_assert_num_queries):
    genres = GenreFactory.create_batch(3)
    MovieFactory.create_batch(5, genres=genres)
    admin_client.get("/admin/catalog/movie/")  # warm caches (content types, session)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        response = admin_client.get("/admin/catalog/movie/")
    MovieFactory.create_batch(40, genres=genres)
    with CaptureQueriesContext(connection) as many:
        admin_client.get("/admin/catalog/movie/")
    assert len(many) == len(few)
    assert ", ".join(sorted(g.name for g in genres)) in response.content.decode()


def test_adding_a_movie_with_genres_makes_it_searchable(admin_client):
    drama, war = GenreFactory(name="Drama"), GenreFactory(name="War")
    response = admin_client.post(
        "/admin/catalog/movie/add/",
        {
            "name": "Paths of Glory",
            "director": "Stanley Kubrick",
            "popularity": "86.0",
            "imdb_score": "8.4",
            "genres": [drama.pk, war.pk],
        },
    )
    assert response.status_code == 302
    assert admin_client.get("/api/movies?search=kubrick,war").json()["count"] == 1


def test_admin_rejects_out_of_range_scores(admin_client):
    response = admin_client.post(
        "/admin/catalog/movie/add/",
        {"name": "X", "director": "Y", "popularity": "101", "imdb_score": "11"},
    )
    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"popularity", "imdb_score"}
    assert Movie.objects.count() == 0


def test_genre_names_are_unique_ignoring_case_in_the_admin(admin_client):
    GenreFactory(name="Drama")
    response = admin_client.post("/admin/catalog/genre/add/", {"name": "drama"})
    assert response.status_code == 200
    assert Genre.objects.count() == 1


def test_changing_a_movies_genres_in_the_admin_moves_the_counts(admin_client):
    drama, war = GenreFactory(name="Drama"), GenreFactory(name="War")
    movie = MovieFactory(genres=[drama])
    response = admin_client.post(
        f"/admin/catalog/movie/{movie.pk}/change/",
        {
            "name": movie.name,
            "director": movie.director,
            "popularity": "50",
            "imdb_score": "5",
            "genres": [war.pk],
        },
    )
    assert response.status_code == 302
    assert dict(Genre.objects.values_list("name", "movie_count")) == {"Drama": 0, "War": 1}


def test_genre_form_shows_the_count_without_letting_it_be_edited(admin_client):
    drama = GenreFactory(name="Drama")
    MovieFactory.create_batch(2, genres=[drama])
    page = admin_client.get(f"/admin/catalog/genre/{drama.pk}/change/")
    assert "movie_count" not in page.context["adminform"].form.fields
    response = admin_client.post(
        f"/admin/catalog/genre/{drama.pk}/change/", {"name": "Drama", "movie_count": "99"}
    )
    assert response.status_code == 302
    assert Genre.objects.get().movie_count == 2


def test_genre_list_searches_by_name_and_counts_movies(admin_client):
    drama = GenreFactory(name="Drama")
    GenreFactory(name="Comedy")
    MovieFactory.create_batch(2, genres=[drama])
    response = admin_client.get("/admin/catalog/genre/", {"q": "dra"})
    rows = response.context["cl"].result_list
    assert [(g.name, g.movie_count) for g in rows] == [("Drama", 2)]


def test_admin_requires_staff(client):
    client.force_login(UserFactory(username="reader"))
    assert client.get("/admin/catalog/movie/").status_code == 302


def test_the_genre_filter_names_its_entry_for_movies_without_genres(admin_client):
    MovieFactory(name="Unfiled")
    MovieFactory(name="Filed", genres=[GenreFactory(name="Western")])
    page = admin_client.get("/admin/catalog/movie/").content.decode()
    assert '<a href="?genres__isnull=True">No genre</a>' in page
    unfiled = admin_client.get("/admin/catalog/movie/", {"genres__isnull": "True"})
    assert changelist_names(unfiled) == ["Unfiled"]


def test_the_score_field_is_labelled_imdb_score(admin_client):
    movie = MovieFactory()
    form = admin_client.get(f"/admin/catalog/movie/{movie.pk}/change/").content.decode()
    assert "IMDb score" in form
    assert "Imdb score" not in form


def test_view_site_leads_to_a_page_that_exists(admin_client):
    page = admin_client.get("/admin/")
    site_url = page.context["site_url"]
    assert admin_client.get(site_url).status_code == 200


def test_the_admin_refuses_a_movie_too_large_to_index(admin_client):
    response = admin_client.post(
        "/admin/catalog/movie/add/",
        {
            # 18 letters each once normalised for search
            "name": "\ufdfa" * 100,
            "director": "Someone",
            "popularity": 50,
            "imdb_score": 5,
            "genres": [GenreFactory(name="Drama").pk],
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "bytes" in response.content.decode()
    assert not Movie.objects.exists()


def test_the_admin_stores_text_normalised_and_refuses_invisible_characters(admin_client):
    fields = {"director": "Jean-Pierre  Jeunet", "popularity": 50, "imdb_score": 5}
    admin_client.post("/admin/catalog/movie/add/", {**fields, "name": "Ame\u0301lie "})
    assert Movie.objects.get().name == "Amélie"
    assert Movie.objects.get().director == "Jean-Pierre Jeunet"
    again = admin_client.post("/admin/catalog/movie/add/", {**fields, "name": "Amélie"})
    assert "already exists" in again.content.decode()
    hidden = admin_client.post("/admin/catalog/movie/add/", {**fields, "name": "Am\u200belie"})
    assert "U+200B" in hidden.content.decode()
    assert Movie.objects.count() == 1


def test_the_admin_refuses_a_genre_that_folds_into_another(admin_client):
    GenreFactory(name="Straße")
    response = admin_client.post("/admin/catalog/genre/add/", {"name": "STRASSE"})
    assert "already exists" in response.content.decode()
    assert Genre.objects.count() == 1


@pytest.mark.parametrize("lookup", ["search_text__regex=(", "name__startswith=A", "director=x"])
def test_the_movie_list_takes_only_its_own_filters_from_the_url(admin_client, lookup):
    MovieFactory()
    response = admin_client.get(f"/admin/catalog/movie/?{lookup}")
    assert response.status_code in (302, 400)  # Django's answer to a lookup it does not offer


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reads_from_primary")
def test_a_save_racing_a_genre_delete_is_a_form_error_not_a_500(admin_client):
    import threading

    from django.db import connections

    from catalog import writes

    noir, drama = GenreFactory(name="Noir"), GenreFactory(name="Drama")
    movie = MovieFactory(genres=[drama])
    deleting, release = threading.Event(), threading.Event()

    def delete_noir_slowly() -> None:
        try:
            with writes.catalogue_write():
                writes.delete_genre(noir.pk)
                deleting.set()
                release.wait(10)
        finally:
            deleting.set()
            connections.close_all()

    deleter = threading.Thread(target=delete_noir_slowly)
    deleter.start()
    assert deleting.wait(10)
    threading.Timer(0.5, release.set).start()  # the save below waits for the lock meanwhile
    form = {"name": movie.name, "director": movie.director, "popularity": "50", "imdb_score": "5"}
    response = admin_client.post(
        f"/admin/catalog/movie/{movie.pk}/change/", {**form, "genres": [noir.pk]}
    )
    deleter.join(10)
    assert response.status_code == 200
    assert "genres" in response.context["adminform"].form.errors
    assert list(Movie.objects.get(pk=movie.pk).genres.values_list("name", flat=True)) == ["Drama"]
