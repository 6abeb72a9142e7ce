lib:
{
  version = "24.05pre-mini";
  release = "24.05";

  id = x: x;
  const = x: _: x;
  flip = f: a: b: f b a;
  pipe = builtins.foldl' (x: f: f x);
  fix = f: let x = f x; in x;
  extends = overlay: f: final: let prev = f final; in prev // overlay final prev;
  composeExtensions = f: g: final: prev:
    let fApplied = f final prev; in fApplied // g final (prev // fApplied);
  composeManyExtensions = builtins.foldl' lib.composeExtensions (_: _: { });

  min = a: b: if a < b then a else b;
  max = a: b: if a > b then a else b;
  mod = a: b: a - (a / b) * b;
  and = a: b: a && b;
  or = a: b: a || b;
  boolToString = b: if b then "true" else "false";

  isFunction = f: builtins.isFunction f || (builtins.isAttrs f && f ? __functor);
  functionArgs = f:
    if builtins.isAttrs f && f ? __functor
    then f.__functionArgs or (lib.functionArgs (f.__functor f))
    else builtins.functionArgs f;
  setFunctionArgs = f: args: { __functor = _: f; __functionArgs = args; };
  toFunction = v: if lib.isFunction v then v else _: v;
  isType = type: x: builtins.isAttrs x && (x._type or null) == type;

  versionAtLeast = v1: v2: builtins.compareVersions v1 v2 >= 0;
  versionOlder = v1: v2: builtins.compareVersions v2 v1 > 0;

  warn = msg: builtins.trace "warning: ${msg}";
  warnIf = cond: msg: if cond then lib.warn msg else x: x;
  throwIf = cond: msg: if cond then throw msg else x: x;
  throwIfNot = cond: msg: if cond then x: x else throw msg;
  assertMsg = pred: msg: pred || builtins.throw msg;
  assertOneOf = name: val: xs:
    lib.assertMsg (builtins.elem val xs)
      "${name} must be one of ${builtins.toJSON xs}, but is: ${builtins.toJSON val}";

  importJSON = path: builtins.fromJSON (builtins.readFile path);
  inherit (builtins) seq deepSeq trace typeOf isAttrs isList isString isInt isBool isPath tryEval;
}
