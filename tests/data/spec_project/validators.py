"""Input validation: the shape of the code the specification's Pipeline reference example reads."""

import re

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


class ValidationError(ValueError):
    """A field failed validation."""


def validate_email(value):
    if not EMAIL.match(value):
        raise ValidationError(f"not an email address: {value!r}")
    return value.lower()


def validate_age(value):
    age = int(value)
    if not 0 <= age <= 150:
        raise ValidationError(f"age out of range: {age}")
    return age


def validate_form(form):
    """The validation flow: each field through its validator, all errors collected."""
    errors, clean = {}, {}
    for field, validator in (("email", validate_email), ("age", validate_age)):
        try:
            clean[field] = validator(form[field])
        except (KeyError, ValidationError, ValueError) as exc:
            errors[field] = str(exc)
    return clean, errors
