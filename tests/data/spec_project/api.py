"""HTTP API endpoints: the shape of the code the specification's documentation use case reads."""

ROUTES = {}


def route(path, method="GET"):
    def register(func):
        ROUTES[(method, path)] = func
        return func
    return register


@route("/items")
def list_items(store):
    return sorted(store)


@route("/items", method="POST")
def create_item(store, name):
    store.add(name)
    return name


@route("/health")
def health(store):
    return {"ok": True, "items": len(store)}
