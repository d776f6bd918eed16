"""Record linkage with other datasets: read their organisations, compare names and places with
our clusters, propose owl:sameAs links with a score and a reason, write the accepted ones."""
