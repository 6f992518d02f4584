"""What the tests share besides fixtures and factories: servers, proxies, reference answers."""
