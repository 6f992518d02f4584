"""What the API and the search page share as web endpoints: which requests are public
reads, the routes whose answers may be kept, ETags and the response cache, and the
database being out of reach. Neither catalog.api nor catalog.site imports the other."""
