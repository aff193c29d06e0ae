"""What of the shared contract (docs/API.md) is later work: read by the tests that hold the code to it."""

# THE one place that says which contract paths are not built yet, and by which later work. Building one makes
# test_paths_not_built_yet_are_really_missing fail until its line here is deleted.
NOT_BUILT_YET: dict[str, str] = {
    "/api/v1/restaurants/{slug}/pacing/": "issue 21 (pacing)",
    "/api/v1/restaurants/{slug}/replay/": "issue 21 (the what-if replay)",
    "/api/v1/restaurants/{slug}/payment-policy/": "issue 20 (deposits and guarantees)",
    "/api/v1/reservations/{id}/no-show-fee/": "issue 20 (deposits and guarantees)",
}
