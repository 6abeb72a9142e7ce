# Option types: each checks a single definition and merges several.
lib:
let
  inherit (builtins) isString isInt isBool isList isAttrs isPath length elem all any head
    concatLists filter mapAttrs zipAttrsWith;
  inherit (lib) mkOptionType mergeEqualOption mergeOneOption showOption mergeDefinitions;

  types = lib.types;
  isCoercibleToString = x: isString x || isPath x || (isAttrs x && (x ? outPath || x ? __toString));

  mergeAttrsOf = lazy: elemType: loc: defs:
    let
      perName = zipAttrsWith (name: defs: mergeDefinitions (loc ++ [ name ]) elemType defs)
        (map (def: mapAttrs (_: value: { inherit (def) file; inherit value; }) def.value) defs);
    in
    if lazy then mapAttrs (_: r: r.mergedValue) perName
    else mapAttrs (_: r: r.optionalValue.value) (lib.filterAttrs (_: r: r.isDefined) perName);

  ints = rec {
    between = lo: hi: lib.types.addCheck types.int (x: x >= lo && x <= hi) // {
      name = "intBetween";
      description = "integer between ${toString lo} and ${toString hi} (both inclusive)";
    };
    unsigned = lib.types.addCheck types.int (x: x >= 0) // {
      name = "unsignedInt";
      description = "unsigned integer, meaning >=0";
    };
    positive = lib.types.addCheck types.int (x: x > 0) // {
      name = "positiveInt";
      description = "positive integer, meaning >0";
    };
    u8 = between 0 255;
    u16 = between 0 65535;
    u32 = between 0 4294967295;
    s8 = between (-128) 127;
    s16 = between (-32768) 32767;
    s32 = between (-2147483648) 2147483647;
  };
in
{
  isOptionType = lib.isType "option-type";

  inherit mkOptionType ints;
  port = ints.u16;

  unspecified = mkOptionType { name = "unspecified"; description = "unspecified value"; };
  raw = mkOptionType { name = "raw"; description = "raw value"; merge = mergeOneOption; };
  bool = mkOptionType { name = "bool"; description = "boolean"; check = isBool; merge = mergeEqualOption; };
  int = mkOptionType { name = "int"; description = "signed integer"; check = isInt; merge = mergeEqualOption; };
  float = mkOptionType { name = "float"; description = "floating point number"; check = builtins.isFloat; merge = mergeEqualOption; };
  number = types.either types.int types.float;
  str = mkOptionType { name = "str"; description = "string"; check = isString; merge = mergeEqualOption; };
  nonEmptyStr = types.addCheck types.str (s: builtins.match "[ \t\n]*" s == null) // {
    name = "nonEmptyStr";
    description = "non-empty string";
  };
  singleLineStr = types.strMatching "[^\n\r]*\n?" // { name = "singleLineStr"; description = "(optionally newline-terminated) single-line string"; };
  strMatching = pattern: types.addCheck types.str (s: builtins.match pattern s != null) // {
    name = "strMatching ${builtins.toJSON pattern}";
    description = "string matching the pattern ${pattern}";
  };
  separatedString = sep: mkOptionType {
    name = "separatedString";
    description = if sep == "" then "concatenated string" else "strings concatenated with ${builtins.toJSON sep}";
    check = isString;
    merge = _: defs: lib.concatStringsSep sep (lib.getValues defs);
  };
  lines = types.separatedString "\n";
  commas = types.separatedString ",";
  envVar = types.separatedString ":";

  path = mkOptionType {
    name = "path";
    description = "path";
    check = x: isCoercibleToString x && builtins.substring 0 1 (toString x) == "/";
    merge = mergeEqualOption;
  };
  package = mkOptionType {
    name = "package";
    description = "package";
    check = x: lib.isDerivation x || lib.isStorePath x;
    merge = mergeOneOption;
  };
  attrs = mkOptionType {
    name = "attrs";
    description = "attribute set";
    check = isAttrs;
    merge = _: defs: builtins.foldl' (acc: def: acc // def.value) { } defs;
  };

  listOf = elemType: mkOptionType {
    name = "listOf";
    description = "list of ${elemType.description}";
    check = isList;
    merge = loc: defs:
      map (r: r.value) (filter (r: r ? value) (concatLists (lib.imap1 (n: def:
        lib.imap1 (m: value:
          (mergeDefinitions (loc ++ [ "[definition ${toString n}-entry ${toString m}]" ]) elemType
            [ { inherit (def) file; inherit value; } ]).optionalValue) def.value) defs)));
    emptyValue = { value = [ ]; };
    getSubModules = elemType.getSubModules;
    substSubModules = m: types.listOf (elemType.substSubModules m);
  };

  attrsOf = elemType: mkOptionType {
    name = "attrsOf";
    description = "attribute set of ${elemType.description}";
    check = isAttrs;
    merge = mergeAttrsOf false elemType;
    emptyValue = { value = { }; };
    getSubModules = elemType.getSubModules;
    substSubModules = m: types.attrsOf (elemType.substSubModules m);
  };

  lazyAttrsOf = elemType: mkOptionType {
    name = "lazyAttrsOf";
    description = "lazy attribute set of ${elemType.description}";
    check = isAttrs;
    merge = mergeAttrsOf true elemType;
    emptyValue = { value = { }; };
    getSubModules = elemType.getSubModules;
    substSubModules = m: types.lazyAttrsOf (elemType.substSubModules m);
  };

  nullOr = elemType: mkOptionType {
    name = "nullOr";
    description = "null or ${elemType.description}";
    check = x: x == null || elemType.check x;
    merge = loc: defs:
      let nulls = lib.count (def: def.value == null) defs; in
      if nulls == length defs then null
      else if nulls != 0 then throw "The option `${showOption loc}' is defined both null and not null, in ${lib.showFiles (lib.getFiles defs)}."
      else elemType.merge loc defs;
    emptyValue = { value = null; };
    getSubModules = elemType.getSubModules;
    substSubModules = m: types.nullOr (elemType.substSubModules m);
  };

  enum = values: mkOptionType {
    name = "enum";
    description = "one of ${lib.concatMapStringsSep ", " builtins.toJSON values}";
    check = x: elem x values;
    merge = mergeEqualOption;
  };

  either = t1: t2: mkOptionType {
    name = "either";
    description = "${t1.description} or ${t2.description}";
    check = x: t1.check x || t2.check x;
    merge = loc: defs:
      let values = lib.getValues defs; in
      if all t1.check values then t1.merge loc defs
      else if all t2.check values then t2.merge loc defs
      else mergeOneOption loc defs;
  };
  oneOf = ts: builtins.foldl' types.either (head ts) (builtins.tail ts);

  coercedTo = coercedType: coerceFunc: finalType: mkOptionType {
    name = "coercedTo";
    description = "${finalType.description} or ${coercedType.description} convertible to it";
    check = x: (coercedType.check x && finalType.check (coerceFunc x)) || finalType.check x;
    merge = loc: defs:
      finalType.merge loc (map (def: def // {
        value = if coercedType.check def.value && !(finalType.check def.value) then coerceFunc def.value else def.value;
      }) defs);
    getSubModules = finalType.getSubModules;
    substSubModules = m: types.coercedTo coercedType coerceFunc (finalType.substSubModules m);
  };

  addCheck = elemType: check: elemType // { check = x: elemType.check x && check x; };
  uniq = elemType: elemType // { merge = mergeOneOption; };

  functionTo = elemType: mkOptionType {
    name = "functionTo";
    description = "function that evaluates to a(n) ${elemType.description}";
    check = lib.isFunction;
    merge = loc: defs: fnArgs:
      (mergeDefinitions (loc ++ [ "<function body>" ]) elemType
        (map (fn: { inherit (fn) file; value = fn.value fnArgs; }) defs)).mergedValue;
  };

  anything = mkOptionType {
    name = "anything";
    description = "anything";
    merge = loc: defs:
      let values = lib.getValues defs; in
      if all (v: isAttrs v && !(lib.isDerivation v)) values then (types.attrsOf types.anything).merge loc defs
      else if any lib.isDerivation values then mergeOneOption loc defs
      else if all lib.isFunction values then fnArgs: (types.anything.merge loc (map (d: d // { value = d.value fnArgs; }) defs))
      else mergeEqualOption loc defs;
  };

  submoduleWith = { modules, specialArgs ? { }, ... }@attrs: mkOptionType {
    name = "submodule";
    description = "submodule";
    check = x: isAttrs x || lib.isFunction x || isPath x;
    merge = loc: defs:
      (lib.evalModules {
        modules = [ { _module.args.name = lib.last loc; } ] ++ modules
          ++ map (def: { _file = def.file; imports = [ def.value ]; }) defs;
        inherit specialArgs;
        prefix = loc;
      }).config;
    emptyValue = { value = { }; };
    getSubModules = modules;
    substSubModules = m: types.submoduleWith (attrs // { modules = m; });
  };
  submodule = modules: types.submoduleWith { modules = lib.toList modules; };
}
