# Option declarations and the ways several definitions of one option merge.
lib:
let
  inherit (builtins) length head tail all isList isAttrs isBool isString isInt foldl' concatLists;
  identifier = "[a-zA-Z_][a-zA-Z0-9_'-]*";
in
{
  mkOption = attrs: attrs // { _type = "option"; };
  isOption = lib.isType "option";
  mkOptionType = { name, description ? name, check ? (_: true), merge ? lib.mergeDefaultOption, ... }@attrs:
    {
      getSubModules = null;
      substSubModules = _: throw "type `${name}' has no submodules";
      emptyValue = { };
    }
    // attrs // { _type = "option-type"; inherit name description check merge; };
  mkEnableOption = name: lib.mkOption {
    type = lib.types.bool;
    default = false;
    example = true;
    description = "Whether to enable ${name}.";
  };
  literalExpression = text: { _type = "literalExpression"; inherit text; };
  literalMD = text: { _type = "literalMD"; inherit text; };

  showOption = loc: lib.concatMapStringsSep "." (part:
    if builtins.match identifier part != null || builtins.match "[<[].*" part != null then part
    else builtins.toJSON part) loc;

  # A short, readable rendering of a definition value for error messages.
  showValue = depth: v:
    if isString v then builtins.toJSON v
    else if isInt v || builtins.isFloat v then toString v
    else if isBool v then lib.boolToString v
    else if v == null then "null"
    else if builtins.isPath v then toString v
    else if lib.isFunction v then "<function>"
    else if isList v then
      (if depth <= 0 then "[ ... ]" else "[ ${lib.concatMapStringsSep " " (lib.showValue (depth - 1)) v} ]")
    else if lib.isDerivation v then "<derivation ${v.name or "?"}>"
    else if isAttrs v then
      (if depth <= 0 then "{ ... }" else "{ ${lib.concatStrings (lib.mapAttrsToList (n: x: "${lib.showOption [ n ]} = ${lib.showValue (depth - 1) x}; ") v)}}")
    else "<${builtins.typeOf v}>";

  showDefs = defs: lib.concatMapStrings (def: "\n- In `${def.file}': ${lib.showValue 3 def.value}") defs;
  showFiles = files: lib.concatMapStringsSep ", " (f: "`${f}'") files;
  getValues = map (d: d.value);
  getFiles = map (d: d.file);

  mergeEqualOption = loc: defs:
    if defs == [ ] then abort "mergeEqualOption: no definitions for ${lib.showOption loc}"
    else
      (foldl' (first: def:
        if def.value != first.value then
          throw "The option `${lib.showOption loc}' has conflicting definition values:${lib.showDefs [ first def ]}\nUse `lib.mkForce value` or `lib.mkDefault value` to change the priority on any of these definitions."
        else first) (head defs) (tail defs)).value;

  mergeOneOption = loc: defs:
    if length defs == 1 then (head defs).value
    else throw "The unique option `${lib.showOption loc}' is defined multiple times. Definition values:${lib.showDefs defs}";

  mergeDefaultOption = loc: defs:
    let list = map (d: d.value) defs; in
    if length list == 1 then head list
    else if all lib.isFunction list then x: lib.mergeDefaultOption loc (map (d: d // { value = d.value x; }) defs)
    else if all isList list then concatLists list
    else if all isAttrs list then foldl' lib.mergeAttrs { } list
    else if all isBool list then foldl' lib.or false list
    else if all isString list then lib.concatStrings list
    else if all isInt list && all (x: x == head list) list then head list
    else throw "Cannot merge definitions of `${lib.showOption loc}'. Definition values:${lib.showDefs defs}";
}
