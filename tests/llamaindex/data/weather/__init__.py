"""A small weather-station client: fetch observations, parse them, cache them, summarise them."""
