"""Django's Redis cache backend, reusing one client object per connection pool, and able to
find its Redis through Sentinel (`REDIS_URL=redis+sentinel://...`)."""

from urllib.parse import parse_qs, unquote, urlsplit

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379


class _ReusingClient(RedisCacheClient):
    # Django builds a new redis.Redis object for every cache call; redis-py 8 fills ~170
    # response callbacks in each constructor (~150 us, more than the Redis round trip). The
    # client is thread-safe (it takes connections from the pool per command), so one per pool.
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._client(connection_pool=self._get_connection_pool(write))
            self._clients[index] = client
        return client


def sentinel_pool(url: str, **options):
    """A connection pool to the current master of a Sentinel-monitored service.

    `redis+sentinel://[:password@]host:port[,host:port...]/service[/db][?sentinel_password=..]`:
    the sentinels to ask, the service (master) name, the database. Each new connection asks a
    sentinel for the master's address, so after a failover connections follow the new master;
    a connection to a demoted master is dropped (redis-py's SentinelManagedConnection).
    """
    from redis.sentinel import Sentinel, SentinelConnectionPool

    parts = urlsplit(url)
    hosts = []
    for item in parts.netloc.rpartition("@")[2].split(","):
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
        hosts.append((host, int(port or SENTINEL_PORT)))
    path = [unquote(p) for p in parts.path.split("/") if p]
    if not path:
        raise ValueError("redis+sentinel:// URL needs the service name: .../<service>[/<db>]")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    timeout = float(query.get("sentinel_timeout", 0.5))
    sentinel_kwargs = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if query.get("sentinel_password"):
        sentinel_kwargs["password"] = query["sentinel_password"]
    sentinel = Sentinel(hosts, sentinel_kwargs=sentinel_kwargs)
    if parts.password:
        options.setdefault("password", unquote(parts.password))
    if parts.username:
        options.setdefault("username", unquote(parts.username))
    options.setdefault("db", int(path[1]) if len(path) > 1 else 0)
    return SentinelConnectionPool(path[0], sentinel, **options)


class _SentinelClient(_ReusingClient):
    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)  # one location: always 0
        if index not in self._pools:
            self._pools[index] = sentinel_pool(self._servers[index], **self._pool_options)
        return self._pools[index]


class WardenRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient
        if isinstance(server, str) and server.startswith(SENTINEL_SCHEME + "://"):
            # One location: the commas separate sentinels, not servers to shard over.
            self._servers = [server]
            self._class = _SentinelClient
