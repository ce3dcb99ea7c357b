# Configures, builds and runs tests/package/consumer against smtpio, either from
# an install prefix (MODE=find_package) or via add_subdirectory (MODE=subdirectory).
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message("${out}")
endfunction()

set(configure_args -S "${CONSUMER_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release -DSMTPIO_CONSUMER_MODE=${MODE})
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install "${SMTPIO_BUILD_DIR}" --prefix "${WORK_DIR}/prefix")
  if(NOT EXISTS "${WORK_DIR}/prefix/lib/cmake/smtpio/smtpioConfig.cmake"
     AND NOT EXISTS "${WORK_DIR}/prefix/lib64/cmake/smtpio/smtpioConfig.cmake")
    message(FATAL_ERROR "smtpioConfig.cmake was not installed")
  endif()
  list(APPEND configure_args -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
else()
  list(APPEND configure_args -DSMTPIO_SOURCE_DIR=${SMTPIO_SOURCE_DIR})
endif()
run(${CMAKE_COMMAND} ${configure_args})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/consumer")
