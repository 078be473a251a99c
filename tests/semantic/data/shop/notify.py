"""Customer notifications."""


def retry_email(send, message: str, attempts: int = 3) -> bool:
    """Send an email, retry on failure."""
    for _ in range(attempts):
        if send(message):
            return True
    return False
