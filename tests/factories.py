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


CATALOGUE_PERMISSIONS = [
    f"{action}_{model}" for model in ("movie", "genre") for action in ("add", "change", "delete")
]


def make_user(username: str = "editor", *, staff: bool = True, permissions=None, **fields):
    """An account; staff get every catalogue model permission unless ``permissions`` says."""
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user(username, is_staff=staff, **fields)
    codenames = CATALOGUE_PERMISSIONS if permissions is None and staff else permissions or []
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="catalog", codename__in=codenames)
    )
    return user
