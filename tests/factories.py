from __future__ import annotations

from dataclasses import dataclass

import factory
from django.contrib.auth.models import Permission, User
from django.db import DEFAULT_DB_ALIAS
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog import writes
from catalog.models import Genre, Movie


class GenreFactory(factory.Factory):
    """A genre, added through catalog.writes as every writer adds one."""

    class Meta:
        model = Genre

    name = factory.Sequence(lambda n: f"Genre {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Genre:
        return writes.create_genre(**kwargs)


class MovieFactory(factory.Factory):
    """A movie, added through catalog.writes with ``genres`` (Genre objects)."""

    class Meta:
        model = Movie

    name = factory.Sequence(lambda n: f"Movie {n}")
    director = "Some Director"
    popularity = 50.0
    imdb_score = 5.0
    genres: list[Genre] = []

    @classmethod
    def _create(cls, model_class, *args, genres=(), **kwargs) -> Movie:
        movie = writes.create_movie(**kwargs, genres=[genre.name for genre in genres])
        # Read back from the primary: a replica may not have replayed the write yet.
        return Movie.objects.using(DEFAULT_DB_ALIAS).get(pk=movie.id)


@dataclass(frozen=True)
class ThreeMovies:
    """Heat (Crime, Drama), Paths of Glory (Drama, War) and Amélie (no genre)."""

    heat: Movie
    paths_of_glory: Movie
    amelie: Movie
    drama: Genre
    war: Genre
    crime: Genre

    @property
    def movies(self) -> list[Movie]:
        return [self.heat, self.paths_of_glory, self.amelie]

    @property
    def genres(self) -> list[Genre]:
        return [self.drama, self.war, self.crime]


def make_three_movies() -> ThreeMovies:
    """A small catalogue whose default order, by popularity, is Paths of Glory, Heat, Amélie."""
    drama, war, crime = (GenreFactory(name=name) for name in ("Drama", "War", "Crime"))
    heat, paths_of_glory, amelie = (
        MovieFactory(
            name=name, director=director, popularity=popularity, imdb_score=score, genres=genres
        )
        for name, director, popularity, score, genres in [
            ("Heat", "Michael Mann", 83.0, 8.3, [crime, drama]),
            ("Paths of Glory", "Stanley Kubrick", 86.0, 8.4, [drama, war]),
            ("Amélie", "Jean-Pierre Jeunet", 70.0, 8.3, []),
        ]
    )
    return ThreeMovies(heat, paths_of_glory, amelie, drama=drama, war=war, crime=crime)


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


class UserFactory(factory.django.DjangoModelFactory):
    """An account: plain unless a trait makes it ``staff``, an ``editor`` or a ``superuser``.

    An editor is staff with every catalogue model permission; plain staff get only the
    ``permissions`` (codenames) they are given. Without a ``password`` the account has
    no usable one, which costs no hashing: give one only where a test logs in with it.
    """

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user-{n}")
    password = None
    permissions = None

    class Params:
        staff = factory.Trait(is_staff=True)
        editor = factory.Trait(is_staff=True, permissions=CATALOGUE_PERMISSIONS)
        superuser = factory.Trait(is_staff=True, is_superuser=True)

    @classmethod
    def _create(cls, model_class, *args, permissions=None, **kwargs):
        user = model_class.objects.create_user(*args, **kwargs)
        if permissions:
            user.user_permissions.set(
                Permission.objects.filter(
                    content_type__app_label="catalog", codename__in=permissions
                )
            )
        return user


def api_token(user: User) -> str:
    """The account's API token, made on first use."""
    return Token.objects.get_or_create(user=user)[0].key


def token_client(user: User) -> APIClient:
    """An API client that signs every request with the account's token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client
