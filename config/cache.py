"""Django's Redis cache backend, reusing one client object per connection pool."""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


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


class WardenRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient
