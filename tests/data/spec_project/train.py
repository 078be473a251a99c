"""A small training script: the shape of the code the specification's HASTE example reads."""

import random


def load_data(path):
    """Read (features, label) rows from a CSV file."""
    rows = []
    with open(path) as handle:
        for line in handle:
            *features, label = line.strip().split(",")
            rows.append(([float(x) for x in features], int(label)))
    return rows


def predict(weights, features):
    score = sum(w * x for w, x in zip(weights, features))
    return 1 if score > 0 else 0


def train(rows, epochs=10, learning_rate=0.1):
    """The training loop: one perceptron update per misclassified row, for each epoch."""
    weights = [0.0] * len(rows[0][0])
    for epoch in range(epochs):
        random.shuffle(rows)
        errors = 0
        for features, label in rows:
            error = label - predict(weights, features)
            if error:
                errors += 1
                weights = [w + learning_rate * error * x for w, x in zip(weights, features)]
        print(f"epoch {epoch}: {errors} errors")
    return weights


def save_model(weights, path):
    with open(path, "w") as handle:
        handle.write(",".join(str(w) for w in weights))


if __name__ == "__main__":
    save_model(train(load_data("data.csv")), "model.txt")
