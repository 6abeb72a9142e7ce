{ lib, ... }:
{
  options.assertions = lib.mkOption {
    type = lib.types.listOf lib.types.unspecified;
    default = [ ];
    description = "Conditions that must hold, as { assertion; message; }.";
  };
  options.warnings = lib.mkOption {
    type = lib.types.listOf lib.types.str;
    default = [ ];
    description = "Warnings printed when the system is built.";
  };
}
