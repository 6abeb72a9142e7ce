# A small module system with the semantics of nixpkgs' lib.modules: imports, function modules,
# option declarations, definitions with priorities (mkOverride), conditions (mkIf), merges
# (mkMerge), ordering (mkBefore/mkAfter), typed merging and errors that name option and file.
lib:
let
  inherit (builtins) isAttrs isString isPath attrNames concatLists filter foldl' head length
    mapAttrs zipAttrsWith sort genList elemAt;
  inherit (lib) showOption showDefs isOption concatMap;

  propertyType = v: if isAttrs v then v._type or null else null;
  imap = f: list: genList (n: f n (elemAt list n)) (length list);

  # Call a function module with the arguments it names. Arguments that are not given directly
  # come from config._module.args, looked up lazily (the set of modules must not depend on them).
  applyIfFunction = key: f: args:
    if lib.isFunction f then
      let
        extraArgs = mapAttrs (name: _:
          builtins.addErrorContext "while evaluating the module argument `${name}' in `${key}':"
            (args.${name} or args.config._module.args.${name})) (lib.functionArgs f);
      in
      f (args // extraArgs)
    else f;

  reservedModuleAttrs = [ "_file" "key" "disabledModules" "imports" "meta" "freeformType" "_class" ];

  unifyModule = file: key: m:
    if !isAttrs m then
      throw "Module `${key}' (from `${file}') is a ${builtins.typeOf m}; a module must be an attribute set or a function returning one."
    else
      let
        file' = toString (m._file or file);
        key' = toString (m.key or key);
        explicit = m ? config || m ? options;
        stray = removeAttrs m (reservedModuleAttrs ++ [ "options" "config" ]);
      in
      if explicit && stray != { } then
        throw "Module `${key'}' has an unsupported attribute `${head (attrNames stray)}'. This is caused by introducing a top-level `config' or `options' attribute. Add configuration attributes immediately on the top level instead, or move all of them (namely: ${toString (attrNames stray)}) into the explicit `config' attribute."
      else {
        _file = file';
        key = key';
        imports = m.imports or [ ];
        options = if explicit then m.options or { } else { };
        config = if explicit then m.config or { } else removeAttrs m reservedModuleAttrs;
      };

  loadModule = args: parentFile: parentKey: index: m:
    let
      fromPath = isPath m || (isString m && lib.hasPrefix "/" m);
      file = if fromPath then toString m else parentFile;
      key = if fromPath then toString m else "${parentKey}:anon-${toString index}";
      value = applyIfFunction key (if fromPath then import m else m) args;
    in
    unifyModule file key value;

  # Every module reachable through imports, depth first (a module, then what it imports, as
  # nixpkgs orders them), once per key: a file imported twice counts once.
  collectModules = args: rootFile: modules:
    let
      visit = acc: m:
        if acc.seen ? ${m.key} then acc
        else builtins.foldl' visit
          { seen = acc.seen // { ${m.key} = true; }; list = acc.list ++ [ m ]; }
          (imap (loadModule args m._file m.key) m.imports);
    in
    (builtins.foldl' visit { seen = { }; list = [ ]; } (imap (loadModule args rootFile "root") modules)).list;

  pushDownProperties = cfg:
    let t = propertyType cfg; in
    if t == "merge" then concatMap pushDownProperties cfg.contents
    else if t == "if" then map (mapAttrs (_: v: lib.mkIf cfg.condition v)) (pushDownProperties cfg.content)
    else if t == "override" then map (mapAttrs (_: v: lib.mkOverride cfg.priority v)) (pushDownProperties cfg.content)
    else [ cfg ];

  dischargeProperties = def:
    let t = propertyType def; in
    if t == "merge" then concatMap dischargeProperties def.contents
    else if t == "if" then
      (if builtins.isBool def.condition then (if def.condition then dischargeProperties def.content else [ ])
      else throw "`mkIf' called with a non-Boolean condition (${builtins.typeOf def.condition})")
    else [ def ];

  discharge = defs: concatMap (d: map (value: d // { inherit value; }) (dischargeProperties d.value)) defs;

  getPrio = def: if propertyType def.value == "override" then def.value.priority else lib.defaultOverridePriority;
  # The priority that wins among definitions (9999 when there are none), as nixpkgs reports it.
  highestPrioOf = defs: foldl' (prio: def: lib.min (getPrio def) prio) 9999 defs;

  filterOverrides = defs:
    let
      highestPrio = highestPrioOf defs;
      strip = def: if propertyType def.value == "override" then discharge [ (def // { value = def.value.content; }) ] else [ def ];
    in
    concatMap (def: if getPrio def == highestPrio then strip def else [ ]) defs;

  sortProperties = defs:
    let
      strip = def:
        if propertyType def.value == "order"
        then def // { value = def.value.content; inherit (def.value) priority; }
        else def // { priority = lib.defaultOrderPriority; };
    in
    sort (a: b: a.priority < b.priority) (map strip defs);

  # Where a definition came from, as precisely as Nix knows.
  locate = file: name: set:
    let pos = builtins.unsafeGetAttrPos name set; in
    if pos == null then file else "${pos.file}:${toString pos.line}";

  # Several declarations of one option: allowed when they only add submodules.
  mergeOptionDecls = loc: decls:
    let
      opts = map (d: d.options) decls;
      typed = filter (o: o ? type) opts;
      merged = foldl' (a: b: a // b) { } opts;
      type =
        if typed == [ ] then lib.types.unspecified
        else if length typed == 1 then (head typed).type
        else if lib.all (o: o.type.getSubModules or null != null) typed
        then (head typed).type.substSubModules (concatMap (o: o.type.getSubModules) typed)
        else throw "The option `${showOption loc}' in `${(elemAt decls 1).file}' is already declared in `${(head decls).file}'.";
    in
    merged // { inherit type loc; declarations = map (d: d.file) decls; };

  evalOptionValue = loc: opt: defs:
    let
      defaultDef = lib.optional (opt ? default) { file = head opt.declarations; value = lib.mkOptionDefault opt.default; };
      res = lib.mergeDefinitions loc opt.type (defaultDef ++ defs);
      readOnlyCheck =
        if (opt.readOnly or false) && length defs > 1
        then throw "The option `${showOption loc}' is read-only, but it's set multiple times. Definition values:${showDefs defs}"
        else x: x;
      applied = if (opt.apply or null) != null then opt.apply res.mergedValue else res.mergedValue;
    in
    opt // {
      value = readOnlyCheck applied;
      inherit (res) isDefined;
      highestPrio = highestPrioOf (discharge (defaultDef ++ defs));
      files = map (d: d.file) res.defsFinal;
      definitions = map (d: d.value) res.defsFinal;
    };

  # One level of the option tree: declarations and definitions split by attribute name.
  # An options subtree may carry `_freeformElem`, the type of definitions nobody declared.
  evalLevel = prefix: decls: defs:
    let
      pushed = concatMap (def: map (value: def // { inherit value; }) (pushDownProperties def.value)) defs;
      defsByName = zipAttrsWith (_: vs: vs) (map (def:
        if isAttrs def.value then mapAttrs (name: v: { file = locate def.file name def.value; value = v; }) def.value
        else throw "A definition for `${showOption prefix}' in `${def.file}' is a ${builtins.typeOf def.value}, but `${showOption prefix}' is a set of options. Definition value:${showDefs [ def ]}") pushed);
      declsByName = zipAttrsWith (_: vs: vs) (map (d:
        mapAttrs (_: options: { inherit (d) file; inherit options; }) (removeAttrs d.options [ "_freeformElem" ])) decls);
      freeform = lib.findFirst (t: t != null) null (map (d: d.options._freeformElem or null) decls);
      children = mapAttrs (name: ds:
        let
          loc = prefix ++ [ name ];
          here = defsByName.${name} or [ ];
          optDecls = filter (d: isOption d.options) ds;
        in
        if optDecls == [ ] then { isOption = false; level = evalLevel loc ds here; }
        else if length optDecls != length ds then
          throw "The option `${showOption loc}' in `${(head optDecls).file}' is a prefix of options declared in `${(head (filter (d: !isOption d.options) ds)).file}'."
        else { isOption = true; option = evalOptionValue loc (mergeOptionDecls loc optDecls) here; }) declsByName;
      undeclared = filter (name: !(declsByName ? ${name})) (attrNames defsByName);
      freeformValues = lib.genAttrs undeclared (name: (lib.mergeDefinitions (prefix ++ [ name ]) freeform defsByName.${name}).mergedValue);
    in
    {
      options = mapAttrs (_: c: if c.isOption then c.option else c.level.options) children;
      unmatched =
        (if freeform != null then [ ] else map (name: { loc = prefix ++ [ name ]; defs = defsByName.${name}; }) undeclared)
        ++ concatMap (c: if c.isOption then [ ] else c.level.unmatched) (builtins.attrValues children);
      config = mapAttrs (_: c: if c.isOption then c.option.value else c.level.config) children
        // (if freeform == null then { } else freeformValues);
    };
in
{
  mkIf = condition: content: { _type = "if"; inherit condition content; };
  mkMerge = contents: { _type = "merge"; inherit contents; };
  mkOverride = priority: content: { _type = "override"; inherit priority content; };
  mkOptionDefault = lib.mkOverride 1500;
  mkDefault = lib.mkOverride 1000;
  mkImageMediaOverride = lib.mkOverride 60;
  mkForce = lib.mkOverride 50;
  mkVMOverride = lib.mkOverride 10;
  mkOrder = priority: content: { _type = "order"; inherit priority content; };
  mkBefore = lib.mkOrder 500;
  mkAfter = lib.mkOrder 1500;
  defaultOverridePriority = 100;
  defaultOrderPriority = 1000;
  mkAliasDefinitions = from: lib.mkIf from.isDefined (lib.mkMerge from.definitions);

  # defs: [ { file; value; } ]; value may carry mkIf/mkMerge/mkOverride/mkOrder.
  mergeDefinitions = loc: type: defs: rec {
    defsFinal = sortProperties (filterOverrides (discharge defs));
    isDefined = defsFinal != [ ];
    mergedValue =
      if !isDefined then throw "The option `${showOption loc}' is used but not defined."
      else
        let invalid = filter (def: !(type.check def.value)) defsFinal; in
        if invalid != [ ]
        then throw "A definition for option `${showOption loc}' is not of type `${type.description}'. Definition values:${showDefs [ (head invalid) ]}"
        else type.merge loc defsFinal;
    optionalValue = if isDefined then { value = mergedValue; } else { };
  };

  evalModules = { modules, specialArgs ? { }, prefix ? [ ], args ? { } }:
    let
      internalModule = {
        _file = toString ./modules.nix;
        key = "hive-mini-nixpkgs:lib/modules.nix";
        options._module.args = lib.mkOption {
          type = lib.types.lazyAttrsOf lib.types.raw;
          default = { };
          internal = true;
          description = "Arguments passed to each module.";
        };
        options._module.check = lib.mkOption {
          type = lib.types.bool;
          default = true;
          internal = true;
          description = "Whether to check that every defined option is declared.";
        };
        config._module.args = args;
      };
      moduleArgs = { inherit lib options config specialArgs; } // specialArgs;
      collected = collectModules moduleArgs "<unknown-file>" ([ internalModule ] ++ modules);
      top = evalLevel prefix
        (map (m: { file = m._file; inherit (m) options; }) collected)
        (map (m: { file = m._file; value = m.config; }) collected);
      inherit (top) options;
      inherit (top) config;
      checkUnmatched =
        if config._module.check && top.unmatched != [ ] then
          let u = head top.unmatched; in
          throw "The option `${showOption u.loc}' does not exist. Definition values:${showDefs u.defs}"
        else null;
    in
    {
      inherit options;
      config = builtins.seq checkUnmatched (removeAttrs config [ "_module" ]);
      _module = config._module;
    };
}
