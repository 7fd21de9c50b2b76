"""What carries ``studies/digits_best.yaml``: the estimator alone on digits, with and without its jitter, and
with two of the quickstart's choices that it leaves out.

    python bench/digits_recipe.py

One 256-unit ReLU layer (SGD, momentum 0.9, batch 64, rate 0.05, alpha 1e-3, 30 epochs, a cosine rate
unless the row says constant) on the bundled digits' split (1347 training rows, standardised; 450 test
rows), seeds 0, 1 and 2; prints the mean test accuracy and each seed's as a Markdown table.
"""

import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from epoch_speed import machine  # bench/ is the script's folder, so on sys.path; it puts the repository there too

from estimators import MLPClassifier
from search.data import load_arrays

SETTINGS = dict(hidden_layer_sizes=(256,), solver="sgd", momentum=0.9, batch_size=64, learning_rate="cosine",
                learning_rate_init=0.05, alpha=1e-3, max_iter=30, n_iter_no_change=1000)
ROWS = {
    "no augmentation, constant rate": dict(learning_rate="constant"),
    "no augmentation, cosine rate": {},
    "`activation: lecun_tanh`, cosine": dict(activation="lecun_tanh"),
    "`batch_norm: before`, cosine": dict(batch_norm="before"),
    "shifts of 1 pixel (`augment: {shift: 1}`), cosine": dict(augment={"shift": 1}, image_shape=(8, 8)),
    "`jitter: 0.5`, cosine": dict(jitter=0.5),
    "`jitter: 0.8`, cosine": dict(jitter=0.8),
    "`jitter: 1.2`, cosine": dict(jitter=1.2),
}
SEEDS = (0, 1, 2)


def main():
    X_train, y_train, X_test, y_test, _ = load_arrays("digits")  # float32 holds digits' 0-16 pixels exactly
    X_train, X_test = X_train.astype(float), X_test.astype(float)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {machine()}\n")
    print("| setting | test accuracy (seeds 0, 1, 2) |\n| --- | --- |")
    for name, change in ROWS.items():
        models = [MLPClassifier(**{**SETTINGS, **change}, random_state=seed) for seed in SEEDS]
        scores = [model.fit(X_train, y_train).score(X_test, y_test) for model in models]
        print(f"| {name} | {sum(scores) / len(scores):.4f} ({', '.join(f'{s:.4f}' for s in scores)}) |", flush=True)


if __name__ == "__main__":
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    main()
