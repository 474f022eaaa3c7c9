"""Every setting of the server, declared once with its default and help text.

Each field can be overridden by an environment variable named ``FHIR_SERVER_`` plus the
field name in upper case, e.g. ``FHIR_SERVER_DATABASE_URL``. This is the only module that
reads the environment.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

ENV_PREFIX = "FHIR_SERVER_"


def _setting(default, help_text: str):
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class Settings:
    database_url: str = _setting(
        "sqlite:///data/fhir.sqlite",
        "SQLAlchemy URL of the database: sqlite:///path for the embedded store, "
        "postgresql+psycopg://user@host/db for production.",
    )
    host: str = _setting("127.0.0.1", "Address `fhir-server serve` listens on.")
    port: int = _setting(8080, "Port `fhir-server serve` listens on.")
    workers: int = _setting(0, "Worker processes of `fhir-server serve`; 0 means one per core.")
    threads: int = _setting(2, "Threads per worker process that run requests (granian's blocking threads).")
    shutdown_timeout_seconds: int = _setting(
        30, "How long `fhir-server serve` lets workers finish their requests on shutdown before killing them."
    )
    base_url: str = _setting(
        "",
        "Public base URL of the FHIR endpoint used in Location headers and Bundle links, "
        "e.g. https://fhir.example.org/fhir; empty means derived from each request.",
    )
    max_request_bytes: int = _setting(50 * 1024 * 1024, "Largest accepted request body in bytes; larger ones get 413.")
    max_bundle_entries: int = _setting(
        10_000, "Most entries a batch or transaction Bundle may hold; more is a 413 before any entry runs."
    )
    default_page_size: int = _setting(50, "Entries per page of a search or history Bundle when `_count` is absent.")
    max_page_size: int = _setting(1000, "Largest `_count` honoured; larger values are lowered to it.")
    max_included: int = _setting(
        10_000, "Most resources `_include` and `_revinclude` may add to one search page; more is a 400, never a cut."
    )
    sqlite_busy_timeout_ms: int = _setting(
        30_000, "How long an SQLite writer waits for another process's write lock before failing."
    )
    sqlite_synchronous: str = _setting(
        "FULL", "SQLite PRAGMA synchronous: FULL makes every committed write survive a power cut; NORMAL is faster."
    )
    terminology_folder: str = _setting(
        "data/terminology",
        "Folder that `fhir-server load-terminology` converts supplied code system files into (KCD, the rare-disease "
        "copayment list, newer Orphadata releases, ICD-O-3, SNOMED CT, LOINC); every server process reads it.",
    )
    max_expansion: int = _setting(
        100_000, "Most codes a ValueSet `$expand` returns without `count`; larger expansions must be paged (400)."
    )
    imports_folder: str = _setting(
        "data/imports", "Folder where exports uploaded to `POST /import/{format}` are unpacked while they are imported, "
                        "and where each import job's rejects file is kept.")
    max_upload_bytes: int = _setting(2 * 1024 ** 3, "Largest export upload (`POST /import/{format}`) in bytes; larger "
                                                     "ones get 413.")
    max_import_bytes: int = _setting(20 * 1024 ** 3, "Most bytes an uploaded export archive may unpack to; more is a 413.")
    validation_workers: int = _setting(
        0, "Processes that validate resources while an import loads them (`$import`, `fhir-server import`, import "
           "jobs); 0 means one per core, 1 validates in the importing process itself.")
    import_defer_indexes_after: int = _setting(
        2_000, "Resources an import writes before it may load the rest without the search index's value indexes "
               "(and its per-resource indexes, while it has only created resources) and build them at its end, "
               "which is faster once it has written as many resources as the database held before it (searches "
               "stay right meanwhile, only slower); 0 never defers them.")
    exports_folder: str = _setting(
        "data/exports", "Folder where bulk `$export` jobs write their NDJSON files until the files expire.")
    export_expiry_seconds: int = _setting(
        24 * 3600, "How long the files of a finished `$export` stay downloadable before they are deleted.")
    export_file_resources: int = _setting(
        100_000, "Most resources in one NDJSON file of an `$export`; a type with more is split into several files.")
    bulk_job_lease_seconds: int = _setting(
        30, "A running `$export` or import job whose worker has not reported progress for this long (the "
            "server stopped) is resumed from its checkpoint by the next server process that starts or is asked "
            "about it.")
    import_folders: str = _setting(
        "", "Folders (separated by spaces) whose NDJSON files `$import` may read through file: URLs; empty: none.")
    import_url_prefixes: str = _setting(
        "", "URL prefixes (separated by spaces, e.g. https://pacs.example.kr/exports/) that `$import` may download "
            "NDJSON files from; empty: none.")
    cors_origins: str = _setting(
        "", "Origins (separated by spaces, e.g. https://app.example.kr) whose web pages may call the API from a "
            "browser; * for any; empty: none (CORS off).")
    auth: str = _setting(
        "off", "on: every request under /fhir and /import needs a bearer token (JWT) with SMART scopes, and each "
               "that touches patient data leaves an AuditEvent; off: no checks and no audit trail, allowed only "
               "while `host` is a loopback address.")
    auth_issuers: str = _setting(
        "", "Token issuers (`iss`, separated by spaces) whose tokens are accepted, e.g. https://sso.example.kr/realms/h.")
    auth_jwks: str = _setting(
        "", "The issuers' public keys: a JWKS file path or an https URL (fetched, cached and refetched when a token "
            "names an unknown key, so rotated keys are picked up).")
    auth_audience: str = _setting(
        "", "The audience (`aud`) tokens must name; empty: `base_url` (SMART's choice), else http://HOST:PORT/fhir; "
            "never taken from a request, whose Host header the client chooses.")
    auth_authorization_endpoint: str = _setting(
        "", "The authorization server's authorize URL, published in /.well-known/smart-configuration.")
    auth_token_endpoint: str = _setting(
        "", "The authorization server's token URL, published in /.well-known/smart-configuration.")
    auth_leeway_seconds: int = _setting(60, "Clock skew tolerated when checking a token's `exp` and `nbf`.")
    auth_dev_key: str = _setting(
        "", "PEM file of a local development signing key (made by `fhir-server token` if missing); when set, tokens "
            "it signs (issuer `fhir-server-dev`) are accepted too. Never set it in production.")
    web_client_id: str = _setting(
        "fhir-server-web", "The OAuth client id the web pages (/app) sign in with, by SMART's standalone launch "
                           "(authorization code with PKCE) at `auth_authorization_endpoint`; register it there as a "
                           "public client whose redirect URIs are this server's /app/cohorts and /app/imports.")
    web_scopes: str = _setting(
        "openid fhirUser user/*.rs", "The scopes the web pages ask for; the token's `roles` claim decides whether "
                                     "its holder sees cohorts (researcher, user, admin) and import jobs (integrator).")
    hospital_name: str = _setting(
        "this hospital", "The name of this node in cohort breakdowns by hospital and in federated answers.")
    cohort_k: int = _setting(
        10, "Minimum cell size: a cohort count (or breakdown cell) below it is shown only as `<k`.")
    cohort_epsilon: float = _setting(
        0.5, "Privacy budget one released count costs (Laplace noise of scale 1/epsilon); a total with two "
             "breakdowns costs three times this. Repeating an answered question costs nothing.")
    cohort_budget: float = _setting(
        20.0, "Privacy budget each requester may spend on cohort answers in all; then their questions are refused.")
    cohort_noise_key_file: str = _setting(
        "data/cohort-noise.key", "Secret key that seeds the cohort noise (created, mode 0600, if missing); keep it "
                                 "out of the database and its backups, or repeated questions could be denoised.")
    cohort_ultra_rare: str = _setting(
        "", "Codes (`system|code`, separated by spaces, e.g. http://www.orpha.net|558) and value set URLs that are "
            "ultra-rare: a cohort whose diagnoses name one gets the ultra-rare rule.")
    cohort_ultra_rare_rule: str = _setting(
        "threshold", "What a cohort of ultra-rare diagnoses gets: threshold (only `<k` or `>=k`, no breakdowns) or "
                     "raise-k (counts with the minimum cell size raised to `cohort_ultra_rare_k`).")
    cohort_ultra_rare_k: int = _setting(20, "The minimum cell size under the raise-k ultra-rare rule.")
    federation_peers: str = _setting(
        "", "JSON file of the hospitals a federated cohort question goes to: {\"peers\": [{\"name\", \"url\" (their "
            "FHIR base), \"tokenFile\" (the bearer token this node presents there), \"caFile\" (to verify their TLS)}]}.")
    federation_timeout_seconds: int = _setting(
        30, "How long a federated question waits for each peer before reporting it as timed out.")
    search_backend: str = _setting(
        "sql", "What answers FHIR searches: `sql` (the index tables, always kept) or `elasticsearch` (also _text and "
        "_content; the database stays the source of truth and feeds the index through an outbox).",
    )
    elasticsearch_url: str = _setting("http://127.0.0.1:9200", "Elasticsearch node(s) to use, comma-separated URLs.")
    elasticsearch_api_key: str = _setting("", "Elasticsearch API key (the base64 `id:key` form); empty for none.")
    elasticsearch_username: str = _setting("", "Elasticsearch basic-auth user; empty for none.")
    elasticsearch_password: str = _setting("", "Elasticsearch basic-auth password.")
    elasticsearch_ca_file: str = _setting("", "PEM file of the CA that signed the cluster's TLS certificate.")
    elasticsearch_index_prefix: str = _setting(
        "fhir-", "Prefix of the per-resource-type index names (`fhir-patient`, ...), so clusters can be shared."
    )
    elasticsearch_refresh: str = _setting(
        "wait_for", "`wait_for`: a write returns once its resource is searchable (read-after-write); `false`: "
        "it returns at once and is searchable within the cluster's refresh interval (more writes per second); "
        "`true` refreshes at once (for tests, costly).",
    )
    elasticsearch_outbox_seconds: int = _setting(
        5, "How often a server process retries the outbox: writes that reached the database while Elasticsearch "
        "was unreachable.",
    )
    log_level: str = _setting("INFO", "Python logging level of the server.")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "Settings":
        """Defaults, then ``FHIR_SERVER_*`` variables, then keyword overrides."""
        environ = os.environ if environ is None else environ
        values = {}
        for setting in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + setting.name.upper())
            if raw is not None:
                values[setting.name] = _convert(setting, raw)
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)


def _convert(setting: dataclasses.Field, raw: str):
    if setting.type in ("float", float):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{setting.name.upper()} must be a number, not {raw!r}") from None
    if setting.type in ("int", int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{setting.name.upper()} must be a whole number, not {raw!r}") from None
    return raw


def describe() -> list[tuple[str, str, str]]:
    """(environment variable, default, help) for each setting, for the CLI and the README."""
    return [
        (ENV_PREFIX + s.name.upper(), str(s.default), s.metadata["help"]) for s in dataclasses.fields(Settings)
    ]
