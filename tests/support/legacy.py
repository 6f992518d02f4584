"""What the legacy service's clients send, which the API keeps answering."""

# The example searches of the legacy service's README, as query strings.
README_SEARCHES = (
    "search=titanic",
    "search=war&limit=10&offset=0",
    "search=War",
    "search=the,war",
    "search=titanic,james",
    "search=the,john,70,7",
    "search=the,john,70,7,war&limit=10&offset=0",
)
