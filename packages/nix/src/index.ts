// The local `nix` runner (eval, build, store queries) lands with the evaluator and apply issues.
export {};
