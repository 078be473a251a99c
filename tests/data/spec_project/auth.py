"""Authentication: the shape of the code the specification's semantic examples read."""

import hashlib
import hmac


def hash_password(password, salt):
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000)


def check_password(password, salt, expected):
    return hmac.compare_digest(hash_password(password, salt), expected)


def authentication_middleware(handler, sessions):
    """Wrap a request handler: requests without a valid session token get 401."""
    def wrapped(request):
        token = request.get("headers", {}).get("authorization", "")
        if token not in sessions:
            return 401, "unauthorized"
        request["user"] = sessions[token]
        return handler(request)
    return wrapped


def logout(sessions, token):
    sessions.pop(token, None)
