// eval: this package is filled by later issues (see DESIGN.md section 2).
export {};
