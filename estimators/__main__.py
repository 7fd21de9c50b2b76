"""``python -m estimators``: train once on sklearn's digits and print the test accuracy."""

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import MLPClassifier


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    model = make_pipeline(StandardScaler(), MLPClassifier(
        (128, 64), activation="leaky_relu", slope=0.01, batch_norm="before",
        solver="sgd", learning_rate_init=0.05, max_iter=30, random_state=0, verbose=True))
    model.fit(X_train, y_train)
    print(f"digits test accuracy: {model.score(X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
