"""Argument checks shared by the model builders (no paper section: input validation)."""

import numbers


def check_positive_int(name, value):
    """Raise TypeError unless ``value`` is an integer, ValueError unless it is ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int. Got {value!r}.")
    if value < 1:
        raise ValueError(f"`{name}` must be positive. Got {value}.")


def check_num_classes(num_classes):
    """A classifier needs an integer number of classes, at least 2."""
    check_positive_int("num_classes", num_classes)
    if num_classes < 2:
        raise ValueError(f"`num_classes` must be at least 2. Got {num_classes}.")
