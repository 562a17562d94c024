// The communicator protocol lives with the kernels and the model's tensor-parallel regions with
// the model (both below this module); users of the parallel runtime get them with it.
@_exported import MonolithKernels
@_exported import MonolithModel
