// Open MPI's predefined handles are macros that take the address of, or cast, a global object
// (`&ompi_mpi_comm_world` and the like), so Swift cannot import them. These wrappers return them
// as values; `static inline` keeps them free (no symbol, no call after inlining).
#ifndef MONOLITH_CMPI_SHIM_H
#define MONOLITH_CMPI_SHIM_H

#include <mpi.h>

static inline MPI_Comm mn_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm mn_comm_null(void) { return MPI_COMM_NULL; }

static inline MPI_Datatype mn_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype mn_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype mn_int(void) { return MPI_INT; }
static inline MPI_Datatype mn_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype mn_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype mn_byte(void) { return MPI_BYTE; }

static inline MPI_Op mn_op_sum(void) { return MPI_SUM; }
static inline MPI_Op mn_op_max(void) { return MPI_MAX; }
static inline MPI_Op mn_op_min(void) { return MPI_MIN; }

static inline void *mn_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *mn_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *mn_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline MPI_Request mn_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Errhandler mn_errors_return(void) { return MPI_ERRORS_RETURN; }

static inline int mn_undefined(void) { return MPI_UNDEFINED; }
static inline int mn_any_source(void) { return MPI_ANY_SOURCE; }
static inline int mn_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int mn_success(void) { return MPI_SUCCESS; }

#endif
