.PHONY: fmt lint test run bench-ingress
fmt:
	cargo fmt --all
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
test:
	scripts/test
run:
	scripts/run
bench-ingress:
	cargo run --release -p so-bench --bin shopify-ometria-bench -- ingress
