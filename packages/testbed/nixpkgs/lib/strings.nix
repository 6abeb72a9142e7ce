lib:
let
  inherit (builtins) stringLength substring replaceStrings concatStringsSep genList filter isString;
in
{
  inherit (builtins) stringLength substring replaceStrings concatStringsSep toString match split;
  concatStrings = concatStringsSep "";
  concatMapStrings = f: list: concatStringsSep "" (map f list);
  concatMapStringsSep = sep: f: list: concatStringsSep sep (map f list);
  concatLines = list: lib.concatMapStrings (s: s + "\n") list;
  optionalString = cond: s: if cond then s else "";
  hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;
  hasSuffix = suffix: s:
    let ls = stringLength s; lx = stringLength suffix; in
    ls >= lx && substring (ls - lx) lx s == suffix;
  hasInfix = infix: s: builtins.match ".*${lib.escapeRegex infix}.*" s != null;
  removePrefix = prefix: s:
    if lib.hasPrefix prefix s then substring (stringLength prefix) (stringLength s) s else s;
  removeSuffix = suffix: s:
    if lib.hasSuffix suffix s then substring 0 (stringLength s - stringLength suffix) s else s;
  stringToCharacters = s: genList (p: substring p 1 s) (stringLength s);
  escape = list: replaceStrings list (map (c: "\\${c}") list);
  escapeRegex = lib.escape (lib.stringToCharacters "\\[{()^$?*+|.");
  splitString = sep: s: filter isString (builtins.split (lib.escapeRegex sep) s);
  escapeShellArg = arg: "'${replaceStrings [ "'" ] [ "'\\''" ] (toString arg)}'";
  escapeShellArgs = lib.concatMapStringsSep " " lib.escapeShellArg;
  toUpper = replaceStrings (lib.stringToCharacters "abcdefghijklmnopqrstuvwxyz") (lib.stringToCharacters "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  toLower = replaceStrings (lib.stringToCharacters "ABCDEFGHIJKLMNOPQRSTUVWXYZ") (lib.stringToCharacters "abcdefghijklmnopqrstuvwxyz");
  trim = s: let m = builtins.match "[[:space:]]*(.*[^[:space:]])[[:space:]]*" s; in if m == null then "" else builtins.head m;
  toInt = s:
    let m = builtins.match "[[:space:]]*(-?[0-9]+)[[:space:]]*" s; in
    if m == null then throw "Could not convert ${s} to int." else builtins.fromJSON (builtins.head m);
  fileContents = file: lib.removeSuffix "\n" (builtins.readFile file);
  makeBinPath = lib.concatMapStringsSep ":" (p: "${p}/bin");
  getName = x: (builtins.parseDrvName (x.name or x)).name;
  getVersion = x: (builtins.parseDrvName (x.name or x)).version;
  isStorePath = x: isString (toString x) && builtins.match "/nix/store/[0-9a-z]{32}-[^/]+" (toString x) != null;
}
