from catalog.models import Genre, Movie
from catalog.reads.paging import numeric_ordering


def test_numeric_orderings_are_sorted_in_python_with_their_directions():
    queryset = Movie.objects.order_by("-popularity", "-id")
    assert numeric_ordering(queryset) == [("popularity", True), ("id", True)]
    assert numeric_ordering(Movie.objects.order_by("imdb_score", "pk")) == [
        ("imdb_score", False),
        ("id", False),
    ]


def test_text_orderings_are_left_to_the_database_collation():
    assert numeric_ordering(Movie.objects.order_by("name", "id")) is None
    assert numeric_ordering(Movie.objects.order_by("popularity", "name")) is None
    assert numeric_ordering(Genre.objects.order_by("movie_count", "name")) is None


def test_unordered_querysets_and_expressions_are_left_to_the_database():
    assert numeric_ordering(Movie.objects.all()) is None
    assert numeric_ordering(Movie.objects.order_by("genres__name")) is None
    assert numeric_ordering(Movie.objects.order_by(Movie._meta.pk.get_col("x").asc())) is None
