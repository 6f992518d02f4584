import factory

from catalog.models import Genre, Movie


class GenreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Genre

    name = factory.Sequence(lambda n: f"Genre {n}")


class MovieFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Movie
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Movie {n}")
    director = "Some Director"
    popularity = 50.0
    imdb_score = 5.0

    @factory.post_generation
    def genres(self, create, extracted, **kwargs):
        if create and extracted:
            self.genres.set(extracted)


def record(name="Heat", director="Michael Mann", popularity=83.0, score=8.3, genre=None):
    """One catalogue record in the legacy format."""
    return {
        "99popularity": popularity,
        "director": director,
        "genre": ["Crime", " Drama"] if genre is None else genre,
        "imdb_score": score,
        "name": name,
    }
