"""The ``config.json`` of a ``.keras`` file, read as data and never executed.

:func:`parse_model_config` walks the whole JSON tree and refuses every object
(any dict with ``class_name``/``module``/``registered_name``) that is not on the
allowlist below, then computes each layer's output shape, weight shapes and
parameter count from the config alone, bounded by the caps below, before a
single weight exists. It also checks every ``build_config`` against the shapes
it computed (Keras builds, and so allocates, each layer from its
``build_config`` before loading weights). The result says which datasets
``model.weights.h5`` must hold, with which shape and dtype
(``rnn_core.saving.model_files`` checks them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from math import prod
from typing import Any

from ..inputs.loading import MAX_STEPS
from ..messages import N_, Message, UserError

MAX_JSON_DEPTH = 64                       # nesting of config.json
MAX_LAYERS = 64                           # layers, counting those inside wrappers
MAX_UNITS = 4096                          # units of a recurrent layer
MAX_DIM = 100_000                         # any other size: features, Dense units, vocabulary
MAX_BATCH = 1024                          # a fixed batch size in the input shape (stateful layers allocate it)
MAX_PARAMS = 5_000_000                    # 20 MB of float32: a bigger model cannot fit in the upload anyway
MAX_NAME = 128                            # characters in a layer or model name

ACTIVATIONS = ("linear", "tanh", "sigmoid", "hard_sigmoid", "relu", "relu6", "leaky_relu", "elu", "selu",
               "gelu", "silu", "swish", "softplus", "softsign", "softmax", "log_softmax", "exponential", "mish")
RECURRENT_CLASSES = ("SimpleRNN", "LSTM", "GRU")
LAYER_CLASSES = ("InputLayer", *RECURRENT_CLASSES, "Bidirectional", "TimeDistributed", "Dense", "Embedding",
                 "Masking", "Dropout", "Activation", "Reshape", "Flatten")
MODEL_CLASSES = {"Sequential": ("keras", "keras.models", "keras.src.models.sequential"),
                 "Functional": ("keras.src.models.functional", "keras", "keras.models")}
INITIALIZER_CLASSES = ("GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
                       "Orthogonal", "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal",
                       "TruncatedNormal", "VarianceScaling", "Identity")
INITIALIZER_NAMES = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
                     "lecun_normal", "orthogonal", "zeros", "ones", "random_uniform", "random_normal",
                     "truncated_normal", "variance_scaling", "identity")
REGULARIZER_CLASSES = ("L1", "L2", "L1L2")
DTYPE_POLICIES = ("float32", "float64")            # layers' variable and compute dtype
INPUT_DTYPES = ("float32", "float64", "int32", "int64")
COMPILE_MODULES = ("keras.optimizers", "keras.optimizers.schedules", "keras.losses", "keras.metrics")

_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}     # weight blocks per cell, Keras' layout
_NAME_RE = re.compile(r"^\w[\w .:\-]*$")
_CLASS_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")

RESAVE = Message(N_('Re-save it with Keras 3 as `model.save("model.keras")` and upload that file.'))

Shape = tuple  # of int | None, batch first


class ModelFileError(UserError):
    """A model file was refused; the message says why and what to do instead."""


@dataclass(frozen=True)
class LayerRow:
    """One row of the layer table."""

    name: str
    class_name: str            # e.g. "SimpleRNN", "Bidirectional(LSTM)", "TimeDistributed(Dense)"
    output_shape: str          # as Keras prints it, e.g. "(None, 12, 128)"
    params: int


@dataclass(frozen=True)
class RecurrentLayer:
    """A SimpleRNN/LSTM/GRU of the model, possibly one direction of a Bidirectional."""

    name: str                  # the top-level layer's name (model.get_layer(name))
    class_name: str            # SimpleRNN, LSTM or GRU
    direction: str | None      # None, or "forward"/"backward" inside a Bidirectional
    input_shape: Shape         # (batch, timesteps, features)
    config: dict[str, Any]     # the Keras config of the recurrent layer (plain JSON values)

    @property
    def label(self) -> str:
        """The layer's name, with its direction inside a Bidirectional (a Message then: the app translates it)."""
        if self.direction is None:
            return self.name
        return Message(_DIRECTION_LABELS[self.direction], {"name": self.name})


_DIRECTION_LABELS = {"forward": N_("{name} (forward)"), "backward": N_("{name} (backward)")}


# -- every object in the config: on the allowlist or refused -----------------------------


def _check_objects(node: Any, where: str, depth: int = 0, in_compile: bool = False,
                   shared: dict | None = None) -> None:
    """Walk the whole JSON tree; every dict naming a class must be on the allowlist.

    ``shared`` maps each ``shared_object_id`` to its class: Keras hands the first object
    made with an id to every later dict with the same id, so one id must mean one class.
    """
    shared = {} if shared is None else shared
    if depth > MAX_JSON_DEPTH:
        raise ModelFileError(N_("config.json is nested more than {max_json_depth} levels deep (at {where})."),
                             max_json_depth=MAX_JSON_DEPTH, where=where)
    if isinstance(node, dict):
        if "class_name" in node or "module" in node or "registered_name" in node:
            _check_object(node, where, in_compile)
        if "shared_object_id" in node:
            key = (node.get("module"), node.get("class_name"))
            if shared.setdefault(repr(node["shared_object_id"])[:40], key) != key:
                raise ModelFileError(N_("config.json reuses one shared object for two different classes (at "
                                        "{where}). {resave}"),
                                     where=where, resave=RESAVE)
        for key, value in node.items():
            _check_objects(value, f"{where}.{key}", depth + 1, in_compile or key == "compile_config", shared)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_objects(value, f"{where}[{i}]", depth + 1, in_compile, shared)
    elif isinstance(node, str) and node == "__lambda__":
        raise ModelFileError(N_("config.json contains '__lambda__' at {where}: serialized Python code, which the "
                                "explorer never loads."), where=where)


def _refuse_object(node: dict, where: str, why: str) -> None:
    module, cls, reg = node.get("module"), node.get("class_name"), node.get("registered_name")
    what = f"{module}.{cls}" if module else str(cls)
    if reg not in (None, cls):
        what = Message(N_("{what} (registered as {reg!r})"), {"what": what, "reg": reg})
    allowed = ", ".join(LAYER_CLASSES)
    raise ModelFileError(N_("The model uses {what} at {where}: {why}. The explorer opens models built only from "
                            "Keras' own layers {allowed} in a Sequential or functional model; no Lambda, custom or "
                            "subclassed classes, no code from other modules."),
                         what=what, where=where, why=why, allowed=allowed)


def _check_object(node: dict, where: str, in_compile: bool) -> None:
    module, cls, reg = node.get("module"), node.get("class_name"), node.get("registered_name")
    if not isinstance(cls, str) or not (module is None or isinstance(module, str)):
        _refuse_object(node, where, Message(N_("not a valid class reference")))
    if module is not None and not (module == "keras" or module.startswith("keras.")):
        _refuse_object(node, where, Message(N_("its module is not part of Keras")))
    if cls in ("__lambda__", "function", "Lambda") or "lambda" in cls.lower():
        _refuse_object(node, where, Message(N_("a Lambda or function carries Python code")))
    if cls == "__keras_tensor__":
        if module is not None or reg is not None:
            _refuse_object(node, where, Message(N_("not a plain functional-model tensor")))
        return
    if in_compile:   # never deserialized (compile=False), still only Keras' own
        if module in COMPILE_MODULES and reg is None and _CLASS_RE.match(cls):
            return
        _refuse_object(node, where, Message(N_("the training configuration may name only built-in optimizers, "
                                               "losses and metrics")))
    if cls in MODEL_CLASSES:
        ok = module in MODEL_CLASSES[cls] and reg in (None, cls)
    elif cls in LAYER_CLASSES:
        ok = module == "keras.layers" and reg in (None, cls)
    elif cls in INITIALIZER_CLASSES:
        ok = module == "keras.initializers" and reg in (None, cls)
    elif cls in REGULARIZER_CLASSES:
        ok = module == "keras.regularizers" and reg in (None, cls)
    elif cls in ("DTypePolicy", "FloatDTypePolicy"):
        name = node.get("config", {}).get("name") if isinstance(node.get("config"), dict) else None
        if module in ("keras", "keras.dtype_policies") and reg is None and name not in DTYPE_POLICIES:
            raise ModelFileError(N_("The dtype policy {name!r} at {where} is not supported; the explorer reads "
                                    "{dtype_policies} models (the NumPy twin is exact in those). Set "
                                    "keras.config.set_dtype_policy('float32'), rebuild and re-save."),
                                 name=name, where=where, dtype_policies=' and '.join(DTYPE_POLICIES))
        ok = module in ("keras", "keras.dtype_policies") and reg is None
    else:
        ok = False
    if not ok:
        _refuse_object(node, where, Message(N_("not on the explorer's list of built-in Keras classes")))


# -- shapes and parameters from the config alone -------------------------------------------


@dataclass
class ParsedModel:
    """What the config says, filled in layer by layer."""

    name: str
    class_name: str                        # Sequential or Functional
    input_shape: Shape = ()
    params: int = 0
    rows: list[LayerRow] = field(default_factory=list)
    recurrent: list[RecurrentLayer] = field(default_factory=list)
    expected: dict[str, tuple[Shape, str]] = field(default_factory=dict)   # h5 path -> (shape, dtype)
    weight_shapes: set[Shape] = field(default_factory=set)
    n_layers: int = 0
    current_top: str = ""                  # the Bidirectional being parsed (names its two directions)


def format_shapes(shapes: list[Shape]) -> str:
    def one(s):
        return "(" + ", ".join("None" if d is None else str(d) for d in s) + ("," if len(s) == 1 else "") + ")"
    return one(shapes[0]) if len(shapes) == 1 else "[" + ", ".join(one(s) for s in shapes) + "]"


def _snake(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: the group name of a layer in model.weights.h5."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def parse_model_config(config: Any) -> ParsedModel:
    """Check a parsed config.json; the layers, shapes, parameters and expected weights, or ModelFileError."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ModelFileError(N_("config.json does not describe a Keras model. {resave}"),
                             resave=RESAVE)
    _check_objects(config, "model")
    cls = config.get("class_name")
    if cls not in MODEL_CLASSES:
        raise ModelFileError(N_("The model is a {cls!r}; the explorer opens Sequential and functional models (a "
                                "subclassed keras.Model cannot be rebuilt without its Python code). Rebuild it as "
                                "keras.Sequential([...]) or keras.Model(inputs, outputs), copy the weights "
                                "(set_weights) and re-save."), cls=cls)
    cfg = config["config"]
    if not isinstance(config.get("build_config", {}) or {}, dict):
        raise ModelFileError(N_("config.json has a malformed build_config. {resave}"),
                             resave=RESAVE)
    model = ParsedModel(name=_check_name(cfg.get("name", ""), Message(N_("model"))), class_name=cls)
    layers = cfg.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ModelFileError(N_("The model has no layers. {resave}"),
                             resave=RESAVE)
    if len(layers) > MAX_LAYERS:
        raise ModelFileError(N_("The model has {n_layers} layers; the limit is {max_layers}."),
                             n_layers=len(layers), max_layers=MAX_LAYERS)
    used: dict[str, int] = {}
    if cls == "Sequential":
        _parse_sequential(model, cfg, config, layers, used)
    else:
        _parse_functional(model, cfg, config, layers, used)
    return model


def _h5_prefix(cls: str, used: dict[str, int]) -> str:
    """saving_lib._get_unique_name: simple_rnn, simple_rnn_1, ... in the order of model.layers."""
    name = _snake(cls)
    if name in used:
        used[name] += 1
        name = f"{name}_{used[name]}"
    else:
        used[name] = 0
    return f"layers/{name}/"


def _parse_sequential(model: ParsedModel, cfg: dict, top: dict, layers: list, used: dict) -> None:
    first = layers[0]
    if isinstance(first, dict) and first.get("class_name") == "InputLayer":
        shape = _input_layer_shape(first)
        layers = layers[1:]
    else:
        shape = cfg.get("build_input_shape") or (top.get("build_config") or {}).get("input_shape")
        if shape is None:
            raise ModelFileError(N_("The model was saved before it was built, so it has no weights or input shape. "
                                    "Call it on data (or add keras.Input) before saving. {resave}"),
                                 resave=RESAVE)
        shape = _shape(shape, Message(N_("the model's input shape")))
    model.input_shape = shape
    for declared in (cfg.get("build_input_shape"), (top.get("build_config") or {}).get("input_shape")):
        if declared is not None and (not isinstance(declared, list) or tuple(declared) != shape):
            raise ModelFileError(N_("The model would be built for input shape {declared} but its first layer says "
                                    "{shape}. {resave}"),
                                 declared=str(declared)[:60], shape=format_shapes([shape]), resave=RESAVE)
    for layer in layers:
        out = _add_layer(model, layer, [shape], used)
        if len(out) != 1:
            raise ModelFileError(N_("Layer {name!r} returns several tensors (return_state=True), which a Sequential "
                                    "model cannot pass on. {resave}"),
                                 name=layer['config'].get('name'), resave=RESAVE)
        shape = out[0]


def _parse_functional(model: ParsedModel, cfg: dict, top: dict, layers: list, used: dict) -> None:
    outputs: dict[tuple[str, int], list[Shape]] = {}
    inputs = []
    for layer in layers:
        if not isinstance(layer, dict) or not isinstance(layer.get("config"), dict):
            raise ModelFileError(N_("config.json has a malformed layer entry. {resave}"),
                                 resave=RESAVE)
        name = _check_name(layer.get("name", layer["config"].get("name")), Message(N_("layer")))
        nodes = layer.get("inbound_nodes", [])
        if not isinstance(nodes, list) or len(nodes) > 1:
            raise ModelFileError(N_("Layer {name!r} is called more than once (a shared layer); the explorer opens "
                                    "models whose layers are each used once."),
                                 name=name)
        if layer.get("class_name") == "InputLayer":
            shape = _input_layer_shape(layer)
            _add_layer(model, layer, [shape], used)
            outputs[(name, 0)] = [shape]
            inputs.append(shape)
            continue
        if not nodes:
            raise ModelFileError(N_("Layer {name!r} is not connected to the model's inputs. {resave}"),
                                 name=name, resave=RESAVE)
        tensors = _node_tensors(nodes[0], outputs, name)
        outputs[(name, 0)] = _add_layer(model, layer, [tensors[0]], used)
    if len(inputs) != 1:
        raise ModelFileError(N_("The model has {n_inputs} inputs; the explorer opens models with exactly one input "
                                "sequence."), n_inputs=len(inputs))
    model.input_shape = inputs[0]
    declared = (top.get("build_config") or {}).get("input_shape")
    if declared is not None and (not isinstance(declared, list) or tuple(declared) != inputs[0]):
        raise ModelFileError(N_("The model would be built for input shape {declared} but its input layer says "
                                "{shape}. {resave}"),
                             declared=str(declared)[:60], shape=format_shapes(inputs), resave=RESAVE)
    for ref in _refs(cfg.get("input_layers")) + _refs(cfg.get("output_layers")):
        if (ref[0], ref[1]) not in outputs or ref[2] >= len(outputs[(ref[0], ref[1])]):
            raise ModelFileError(N_("The model's output refers to a missing layer {ref!r}. {resave}"),
                                 ref=ref[0], resave=RESAVE)


def _refs(value: Any) -> list[tuple[str, int, int]]:
    """[name, node, index] or a list of them."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ModelFileError(N_("The functional model's inputs/outputs are malformed. {resave}"),
                             resave=RESAVE)
    out = []
    for ref in value:
        if not (isinstance(ref, list) and len(ref) == 3 and isinstance(ref[0], str)
                and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 16 for v in ref[1:])):
            raise ModelFileError(N_("The functional model's inputs/outputs are malformed. {resave}"),
                                 resave=RESAVE)
        out.append(tuple(ref))
    return out


def _node_tensors(node: Any, outputs: dict, name: str) -> list[Shape]:
    """The shapes of the tensors a layer call receives: first the positional input."""
    found: list[Shape] = []

    def walk(v):
        if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
            c = v.get("config") if isinstance(v.get("config"), dict) else {}
            refs = _refs(c.get("keras_history"))
            if len(refs) != 1:
                raise ModelFileError(N_("A tensor into layer {name!r} has a malformed history. {resave}"),
                                     name=name, resave=RESAVE)
            (src, node_i, idx), = refs
            if (src, node_i) not in outputs or idx >= len(outputs[(src, node_i)]):
                raise ModelFileError(N_("Layer {name!r} is called on the output of {src!r}, which comes later or "
                                        "does not exist. {resave}"),
                                     name=name, src=src, resave=RESAVE)
            shape = outputs[(src, node_i)][idx]
            if _shape(c.get("shape"), Message(N_("a tensor into {name!r}"), {"name": name})) != shape:
                raise ModelFileError(N_("The tensor into layer {name!r} has shape {stored} in the file but {built} "
                                        "by the layers before it. {resave}"),
                                     name=name, stored=c.get('shape'), built=format_shapes([shape]),
                                     resave=RESAVE)
            found.append(shape)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    if not isinstance(node, dict):
        raise ModelFileError(N_("Layer {name!r} has a malformed call. {resave}"),
                             name=name, resave=RESAVE)
    kwargs = node.get("kwargs", {})
    if not isinstance(kwargs, dict) or set(kwargs) - {"training", "mask", "initial_state"}:
        raise ModelFileError(N_("Layer {name!r} is called with arguments other than training, mask and "
                                "initial_state. {resave}"),
                             name=name, resave=RESAVE)
    args = node.get("args", [])
    if not isinstance(args, list) or len(args) != 1:
        raise ModelFileError(N_("Layer {name!r} must be called on exactly one input tensor. {resave}"),
                             name=name, resave=RESAVE)
    walk(args)
    n_args = len(found)
    walk(kwargs)
    if n_args == 0:
        raise ModelFileError(N_("Layer {name!r} is called without an input tensor. {resave}"),
                             name=name, resave=RESAVE)
    return found


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME or ".." in name or not _NAME_RE.match(name):
        raise ModelFileError(N_("The {what} name {name!r} is not allowed: use letters, digits, '_', '-', '.', ':' or "
                                "spaces, at most {max_name} characters, no '/' or '..'."),
                             what=what, name=str(name)[:40], max_name=MAX_NAME)
    return name


def _int(value: Any, what: Message, low: int, high: int) -> int:
    """``value`` if it is an integer in [low, high]; ``what`` (starting a sentence) names it in the refusal."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        said = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else repr(value)[:40]
        raise ModelFileError(N_("{what} is {said}; the explorer opens models where it is an integer from {low} to "
                                "{high:,}."), what=what, said=said, low=low, high=high)
    return value


def _shape(value: Any, what: str) -> Shape:
    if not isinstance(value, list) or not 1 <= len(value) <= 6:
        raise ModelFileError(N_("{what} is not a valid shape ({value}). {resave}"),
                             what=what, value=str(value)[:40], resave=RESAVE)
    return tuple(None if d is None else _int(d, Message(N_("A dimension of {what}"), {"what": what}), 0,
                                             max(MAX_DIM, MAX_STEPS))
                 for d in value)


def _input_layer_shape(layer: dict) -> Shape:
    c = layer.get("config")
    if not isinstance(c, dict):
        raise ModelFileError(N_("config.json has a malformed input layer. {resave}"),
                             resave=RESAVE)
    _check_name(c.get("name"), Message(N_("layer")))
    if c.get("sparse") or c.get("ragged"):
        raise ModelFileError(N_("Sparse or ragged inputs are not supported; use a dense input."))
    if c.get("dtype", "float32") not in INPUT_DTYPES:
        raise ModelFileError(N_("The input dtype {dtype!r} is not supported ({input_dtypes})."),
                             dtype=c.get('dtype'), input_dtypes=', '.join(INPUT_DTYPES))
    shape = _shape(c.get("batch_shape", c.get("batch_input_shape")), Message(N_("the input shape")))
    if shape[0] is not None and not 1 <= shape[0] <= MAX_BATCH:
        raise ModelFileError(N_("The input's fixed batch size is {batch:,}; the explorer opens models with a batch "
                                "size of at most {max_batch} (or none)."),
                             batch=shape[0], max_batch=MAX_BATCH)
    return shape


def _check_values(c: dict, cls: str, name: str) -> None:
    """Arguments of a layer: named activations/initializers, no constraints, plain values otherwise."""
    for key, value in c.items():
        where = Message(N_("{key} of layer {name!r}"), {"key": key, "name": name})
        if key in ("activation", "recurrent_activation"):
            if value not in ACTIVATIONS:
                raise ModelFileError(N_("The {where} is {value!r}; allowed: {activations}."),
                                     where=where, value=str(value)[:40], activations=', '.join(ACTIVATIONS))
        elif key.endswith("_initializer"):
            if not (_is(value, INITIALIZER_CLASSES) or value in INITIALIZER_NAMES):
                raise ModelFileError(N_("The {where} is not a built-in initializer."),
                                     where=where)
        elif key.endswith("_regularizer"):
            if value is not None and not _is(value, REGULARIZER_CLASSES):
                raise ModelFileError(N_("The {where} is not a built-in regularizer (L1, L2, L1L2)."),
                                     where=where)
        elif key.endswith("_constraint") or key in ("quantization_config", "lora_rank"):
            if value is not None:
                raise ModelFileError(N_("The {where} is set; the explorer opens models without weight constraints, "
                                        "quantization or LoRA. Remove it and re-save."),
                                     where=where)
        elif key == "dtype":
            ok = (value in DTYPE_POLICIES or _is(value, ("DTypePolicy", "FloatDTypePolicy"))
                  or (cls == "InputLayer" and value in INPUT_DTYPES))
            if not ok:
                raise ModelFileError(N_("The dtype of layer {name!r} is {value!r}; the explorer reads "
                                        "{dtype_policies} models."),
                                     name=name, value=str(value)[:40], dtype_policies=' and '.join(DTYPE_POLICIES))
        elif key in ("layer", "backward_layer") and cls in ("Bidirectional", "TimeDistributed"):
            continue
        elif not _plain(value):
            raise ModelFileError(N_("The {where} holds an object; only numbers, strings and lists are allowed there."),
                                 where=where)
    if c.get("stateful") is not None and not isinstance(c.get("stateful"), bool):
        raise ModelFileError(N_("stateful of layer {name!r} must be true or false."),
                             name=name)


def _is(value: Any, classes: tuple[str, ...]) -> bool:
    return isinstance(value, dict) and value.get("class_name") in classes


def _plain(value: Any, depth: int = 0) -> bool:
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return len(value) <= 256
    if isinstance(value, list) and depth < 4 and len(value) <= 64:
        return all(_plain(v, depth + 1) for v in value)
    return False


def _policy(c: dict) -> str:
    d = c.get("dtype", "float32")
    if isinstance(d, dict):
        d = d.get("config").get("name") if isinstance(d.get("config"), dict) else None
    return d if d in DTYPE_POLICIES else "float32"


def _add_layer(model: ParsedModel, layer: Any, inputs: list[Shape], used: dict) -> list[Shape]:
    """Output shapes of one top-level layer; records its row, weights and recurrent layers."""
    if not isinstance(layer, dict) or not isinstance(layer.get("config"), dict):
        raise ModelFileError(N_("config.json has a malformed layer entry. {resave}"),
                             resave=RESAVE)
    cls, c = layer.get("class_name"), layer["config"]
    name = _check_name(c.get("name"), Message(N_("layer")))
    weights: list[tuple[str, Shape]] = []
    out, label = _layer_outputs(model, layer, inputs[0], weights, "")
    params = sum(prod(s) for _, s in weights)
    model.params += params
    if model.params > MAX_PARAMS:
        raise ModelFileError(N_("The model has more than {max_params:,} parameters (counted from its config up to "
                                "layer {name!r}); the explorer opens smaller models."),
                             max_params=MAX_PARAMS, name=name)
    if cls != "InputLayer" or model.class_name == "Functional":
        prefix = _h5_prefix(cls, used)
        dtype = _policy(c)
        for sub, shape in weights:
            model.expected[prefix + sub] = (shape, dtype)
            model.weight_shapes.add(shape)
    if cls != "InputLayer":
        model.rows.append(LayerRow(name, label, format_shapes(out), params))
    return out


def _layer_outputs(model: ParsedModel, layer: Any, x: Shape, weights: list, sub: str) -> tuple[list[Shape], str]:
    """(output shapes, class label) of one layer entry on input shape ``x``; appends its weights' shapes."""
    if not isinstance(layer, dict) or not isinstance(layer.get("config"), dict):
        raise ModelFileError(N_("config.json has a malformed layer entry. {resave}"),
                             resave=RESAVE)
    cls, c = layer.get("class_name"), layer["config"]
    name = _check_name(c.get("name"), Message(N_("layer")))
    _check_build(layer, x, name)
    model.n_layers += 1
    if model.n_layers > MAX_LAYERS:
        raise ModelFileError(N_("The model has more than {max_layers} layers."),
                             max_layers=MAX_LAYERS)
    if cls not in LAYER_CLASSES:
        raise ModelFileError(N_("Layer {name!r} is a {cls!r}, which the explorer does not open."),
                             name=name, cls=cls)
    _check_values(c, cls, name)
    if cls == "InputLayer":
        return [x], cls
    if cls in RECURRENT_CLASSES:
        return _recurrent(model, cls, c, name, x, weights, sub, None), cls
    if cls == "Bidirectional":
        return _bidirectional(model, c, name, x, weights, sub)
    if cls == "TimeDistributed":
        inner = c.get("layer")
        if not isinstance(inner, dict) or inner.get("class_name") in (*RECURRENT_CLASSES, "Bidirectional",
                                                                      "InputLayer", "TimeDistributed"):
            raise ModelFileError(N_("TimeDistributed layer {name!r} must wrap a Dense, Dropout, Activation, Masking, "
                                    "Embedding, Reshape or Flatten layer."),
                                 name=name)
        if len(x) < 3:
            raise ModelFileError(N_("TimeDistributed layer {name!r} needs a 3-D input, got {shape}."),
                                 name=name, shape=format_shapes([x]))
        inner_out, inner_label = _layer_outputs(model, inner, (x[0],) + x[2:], weights, sub + "layer/")
        return [(x[0], x[1]) + inner_out[0][1:]], f"TimeDistributed({inner_label})"
    if cls == "Dense":
        units = _int(c.get("units"), Message(N_("Units of Dense layer {name!r}"), {"name": name}), 1, MAX_DIM)
        d = _feature(x, name, 2)
        weights.append((sub + "vars/0", (d, units)))
        if c.get("use_bias", True):
            weights.append((sub + "vars/1", (units,)))
        return [x[:-1] + (units,)], cls
    if cls == "Embedding":
        n = _int(c.get("input_dim"), Message(N_("input_dim of Embedding layer {name!r}"), {"name": name}), 1,
                 MAX_DIM)
        k = _int(c.get("output_dim"), Message(N_("output_dim of Embedding layer {name!r}"), {"name": name}), 1,
                 MAX_DIM)
        weights.append((sub + "vars/0", (n, k)))
        return [x + (k,)], cls
    if cls == "Flatten":
        if any(d is None for d in x[1:]):
            raise ModelFileError(N_("Flatten layer {name!r} needs a fixed input shape, got {shape}."),
                                 name=name, shape=format_shapes([x]))
        return [(x[0], prod(x[1:]))], cls
    if cls == "Reshape":
        return [(x[0],) + _reshape(x, c.get("target_shape"), name)], cls
    if cls == "Dropout":
        rate = c.get("rate")
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate < 1:
            raise ModelFileError(N_("rate of Dropout layer {name!r} must be in [0, 1)."),
                                 name=name)
    return [x], cls                      # Masking, Dropout, Activation: same shape


def _check_build(layer: dict, x: Shape, name: str) -> None:
    """Keras builds a layer from its build_config before loading weights: it must be the shape computed here."""
    build = layer.get("build_config")
    if build is None:
        return
    if isinstance(build, dict) and set(build) == {"shapes_dict"}:     # a recurrent layer given initial_state
        build = _initial_state_build(layer, build["shapes_dict"], x, name)
    if not isinstance(build, dict) or set(build) - {"input_shape"}:
        raise ModelFileError(N_("Layer {name!r} has an unexpected build_config. {resave}"),
                             name=name, resave=RESAVE)
    shape = build.get("input_shape")
    if shape is not None and (not isinstance(shape, list) or tuple(shape) != tuple(x)):
        raise ModelFileError(N_("Layer {name!r} would be built for input shape {shape}, but the layers before it give "
                                "{given}. Refusing a config that does not add up. {resave}"),
                             name=name, shape=str(shape)[:60], given=format_shapes([x]), resave=RESAVE)


def _initial_state_build(layer: dict, shapes: Any, x: Shape, name: str) -> dict:
    """{"sequences_shape": x, "initial_state_shape": [[batch, units]] * states}: each state (batch, units)."""
    cls, units = layer.get("class_name"), layer["config"].get("units")
    states = shapes.get("initial_state_shape") if isinstance(shapes, dict) else None
    n = 2 if cls == "LSTM" else 1
    if (cls not in RECURRENT_CLASSES or set(shapes) != {"sequences_shape", "initial_state_shape"}
            or not isinstance(states, list) or len(states) != n
            or any(s != [x[0], units] for s in states)):
        raise ModelFileError(N_("Layer {name!r} has an unexpected build_config. {resave}"),
                             name=name, resave=RESAVE)
    return {"input_shape": shapes["sequences_shape"]}


def _reshape(x: Shape, target: Any, name: str) -> Shape:
    """Reshape's output shape without the batch: target_shape with one -1 resolved when sizes are known."""
    what = Message(N_("target_shape of Reshape layer {name!r}"), {"name": name})
    if not isinstance(target, list) or not 1 <= len(target) <= 5 or sum(d == -1 for d in target) > 1:
        raise ModelFileError(N_("{what} must be a list of at most 5 sizes with at most one -1."),
                             what=what)
    dims = [_int(d, what, -1, MAX_DIM) for d in target]
    if any(d == 0 for d in dims):
        raise ModelFileError(N_("{what} must not contain 0."), what=what)
    if -1 in dims:
        known = prod(d for d in dims if d != -1)
        size = None if any(d is None for d in x[1:]) else prod(x[1:])
        dims[dims.index(-1)] = None if size is None else size // known
    return tuple(dims)


def _feature(x: Shape, name: str, min_rank: int) -> int:
    if len(x) < min_rank or x[-1] is None:
        raise ModelFileError(N_("Layer {name!r} gets an input of shape {shape}; its last dimension must be known. "
                                "Save the model after building it with a fixed number of features."),
                             name=name, shape=format_shapes([x]))
    return _int(x[-1], Message(N_("The number of features into layer {name!r}"), {"name": name}), 1, MAX_DIM)


def _recurrent(model: ParsedModel, cls: str, c: dict, name: str, x: Shape, weights: list, sub: str,
               direction: str | None) -> list[Shape]:
    """SimpleRNN/LSTM/GRU: weights in Keras' layout, outputs as return_sequences/return_state say."""
    if len(x) != 3:
        raise ModelFileError(N_("Recurrent layer {name!r} needs a 3-D input (batch, timesteps, features), got "
                                "{shape}."), name=name, shape=format_shapes([x]))
    units = _int(c.get("units"), Message(N_("Units of {cls} layer {name!r}"), {"cls": cls, "name": name}), 1,
                 MAX_UNITS)
    d = _feature(x, name, 3)
    for key in ("return_sequences", "return_state", "go_backwards", "stateful", "use_bias", "unroll",
                "reset_after", "unit_forget_bias", "zero_output_for_mask"):
        if key in c and not isinstance(c[key], bool):
            raise ModelFileError(N_("{key} of layer {name!r} must be true or false."),
                                 key=key, name=name)
    for key in ("dropout", "recurrent_dropout"):
        rate = c.get(key, 0.0)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ModelFileError(N_("{key} of layer {name!r} must be in [0, 1)."),
                                 key=key, name=name)
    g = _GATES[cls]
    weights += [(sub + "cell/vars/0", (d, g * units)), (sub + "cell/vars/1", (units, g * units))]
    if c.get("use_bias", True):
        bias = (2, 3 * units) if cls == "GRU" and c.get("reset_after", True) else (g * units,)
        weights.append((sub + "cell/vars/2", bias))
    model.recurrent.append(RecurrentLayer(name if direction is None else model.current_top, cls, direction,
                                          x, dict(c)))
    out = (x[0], x[1], units) if c.get("return_sequences", False) else (x[0], units)
    states = [(x[0], units)] * (2 if cls == "LSTM" else 1) if c.get("return_state", False) else []
    return [out] + states


def _bidirectional(model: ParsedModel, c: dict, name: str, x: Shape, weights: list, sub: str) -> tuple[list, str]:
    fwd, bwd = c.get("layer"), c.get("backward_layer")
    parts = [("forward", fwd, "forward_layer/")] + ([("backward", bwd, "backward_layer/")] if bwd else [])
    if not bwd and isinstance(fwd, dict):
        back = dict(fwd, config=dict(fwd["config"]) if isinstance(fwd.get("config"), dict) else {})
        back["config"]["go_backwards"] = not back["config"].get("go_backwards", False)
        parts.append(("backward", back, "backward_layer/"))
    model.current_top = name
    outs = []
    for direction, inner, prefix in parts:
        if not isinstance(inner, dict) or inner.get("class_name") not in RECURRENT_CLASSES:
            raise ModelFileError(N_("Bidirectional layer {name!r} must wrap a SimpleRNN, LSTM or GRU."),
                                 name=name)
        ic = inner.get("config") if isinstance(inner.get("config"), dict) else {}
        inner_name = _check_name(ic.get("name"), Message(N_("layer")))
        _check_build(inner, x, inner_name)
        model.n_layers += 1
        _check_values(ic, inner["class_name"], inner_name)
        outs.append(_recurrent(model, inner["class_name"], ic, inner_name, x, weights, sub + prefix, direction))
    (f_out, *f_states), (b_out, *b_states) = outs
    if f_out[:-1] != b_out[:-1]:
        raise ModelFileError(N_("The two directions of Bidirectional layer {name!r} disagree on return_sequences."),
                             name=name)
    mode = c.get("merge_mode", "concat")
    if mode not in ("concat", "sum", "mul", "ave", None):
        raise ModelFileError(N_("merge_mode of Bidirectional layer {name!r} must be concat, sum, mul, ave or null."),
                             name=name)
    if mode is None:
        merged = [f_out, b_out]
    elif mode == "concat":
        merged = [f_out[:-1] + (f_out[-1] + b_out[-1],)]
    else:
        if f_out != b_out:
            raise ModelFileError(N_("The two directions of {name!r} must have the same units for merge_mode={mode}."),
                                 name=name, mode=mode)
        merged = [f_out]
    return merged + f_states + b_states, f"Bidirectional({fwd['class_name']})"
