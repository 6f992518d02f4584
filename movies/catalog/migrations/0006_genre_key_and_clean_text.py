"""Genres matched by a stored key, text stored normalised, a name index that always fits.

- ``Genre.key``: the NFKC case fold of the name, computed in Python, replaces
  the database's ``lower(name)`` as what makes two genres one. Genres that the
  new rule finds to be one are merged into the oldest.
- Names, directors and genre names are stored in NFC with whitespace trimmed
  and collapsed. A movie whose normalised (name, director) would clash with
  another's is left as it is and reported.
- The name order index no longer carries search_text (see Movie.Meta).

The rules are copied here as they were when this migration was written:
migrations must not change when the code does. The search text is the one
written since genre names left it (migration 0007): four lines, name,
director, popularity and imdb_score, at most 2,200 bytes.
"""

import re
import unicodedata

import django.core.validators
from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

_WHITESPACE = re.compile(r"\s+")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
MAX_DOCUMENT_BYTES = 2_200


def clean(text):
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def key(text):
    cleaned = _WHITESPACE.sub(" ", text).strip()
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", cleaned).casefold())


def field_line(text):
    if text.isascii():
        folded = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _CONTROL_CHARACTERS.sub(" ", folded)


def search_document(*, name, director, popularity, imdb_score):
    fields = [name, director, repr(float(popularity)), repr(float(imdb_score))]
    document = "\n".join(field_line(field) for field in fields)
    if len(document.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES:
        raise ValueError("too long to search")
    return document


class VisibleTextValidator:
    """Stands for catalog.models.VisibleTextValidator in the migration state.

    Validators are not part of the schema and no migration runs them: the state
    only has to name the models' validator as Django compares it (by the import
    path it deconstructs to), so that makemigrations finds nothing to change.
    Naming it, rather than importing it, keeps this migration apart from the code.
    """

    def __call__(self, value):
        pass

    def __eq__(self, other):
        return isinstance(other, VisibleTextValidator)

    def deconstruct(self):
        return ("catalog.models.VisibleTextValidator", (), {})


def genre_keys_and_clean_text(apps, schema_editor):
    alias = schema_editor.connection.alias
    Genre = apps.get_model("catalog", "Genre")
    Movie = apps.get_model("catalog", "Movie")
    Link = Movie.genres.through

    kept = {}
    for genre in Genre.objects.using(alias).order_by("id"):
        genre.name = clean(genre.name)
        genre.key = key(genre.name)
        first = kept.get(genre.key)
        if first is None:
            kept[genre.key] = genre
            genre.save(update_fields=["name", "key"])
            continue
        # The same genre under the new rule: its movies move to the first one.
        movies = Link.objects.using(alias).filter(genre_id=genre.pk).values_list("movie_id")
        already = Link.objects.using(alias).filter(genre_id=first.pk, movie_id__in=movies)
        Link.objects.using(alias).filter(genre_id=genre.pk).exclude(
            movie_id__in=already.values("movie_id")
        ).update(genre_id=first.pk)
        genre.delete()
    count = (
        Link.objects.using(alias)
        .filter(genre=OuterRef("pk"))
        .values("genre")
        .annotate(count=Count("*"))
        .values("count")
    )
    Genre.objects.using(alias).update(movie_count=Coalesce(Subquery(count), 0))

    changed = {}
    for pk, name, director in Movie.objects.using(alias).values_list("id", "name", "director"):
        if (clean(name), clean(director)) != (name, director):
            changed[pk] = (clean(name), clean(director))
    for movie in Movie.objects.using(alias).filter(pk__in=changed):
        name, director = changed[movie.pk]
        if Movie.objects.using(alias).filter(name=name, director=director).exists():
            print(f"\n  movie {movie.pk} left as it is: its normalised name is another movie's")
            continue
        try:
            movie.search_text = search_document(
                name=name,
                director=director,
                popularity=movie.popularity,
                imdb_score=movie.imdb_score,
            )
        except ValueError:
            print(f"\n  movie {movie.pk} left as it is: its search text would be too long")
            continue
        movie.name, movie.director = name, director
        movie.save(update_fields=["name", "director", "search_text"])
    if schema_editor.connection.vendor == "postgresql":
        # The foreign-key checks of the moved links, before the table is altered.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_genre_movie_count")]

    operations = [
        migrations.RemoveConstraint(model_name="genre", name="genre_name_unique_ignoring_case"),
        migrations.AddField(
            model_name="genre",
            name="key",
            field=models.TextField(editable=False, null=True),
        ),
        migrations.RunPython(genre_keys_and_clean_text, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="genre",
            name="key",
            field=models.TextField(editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="genre",
            name="name",
            field=models.CharField(max_length=100, validators=[VisibleTextValidator()]),
        ),
        *(
            migrations.AlterField(
                model_name="movie",
                name=text_field,
                field=models.CharField(max_length=255, validators=[VisibleTextValidator()]),
            )
            for text_field in ("director", "name")
        ),
        migrations.AlterField(
            model_name="movie",
            name="imdb_score",
            field=models.FloatField(
                validators=[
                    django.core.validators.MinValueValidator(0.0),
                    django.core.validators.MaxValueValidator(10.0),
                ],
                verbose_name="IMDb score",
            ),
        ),
        migrations.RemoveIndex(model_name="movie", name="movie_name_id"),
        migrations.AddIndex(
            model_name="movie",
            index=models.Index(fields=["name", "id"], name="movie_name_id"),
        ),
    ]
