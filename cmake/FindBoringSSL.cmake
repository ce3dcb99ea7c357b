# FindBoringSSL.cmake -- locate BoringSSL, never OpenSSL.
#
# Search order:
#   1. BORINGSSL_ROOT (CMake or environment variable): a BoringSSL build tree
#      (include/ beside build/ssl, build/crypto or build/) or an install tree
#      (include/ and lib/).  When BORINGSSL_ROOT is set, nothing else is searched.
#   2. Debian's android-libboringssl-dev: headers in /usr/include/android,
#      libssl.so and libcrypto.so in /usr/lib/<multiarch>/android.  That directory
#      is not on the loader's path, so consumers get it as an rpath (CMake adds it
#      to every executable linked against these imported targets).
#
# A header directory is accepted only if its openssl/base.h defines
# OPENSSL_IS_BORINGSSL, so OpenSSL's headers can never be picked up by mistake.
#
# Imported targets: BoringSSL::ssl, BoringSSL::crypto.
# Variables: BoringSSL_FOUND, BoringSSL_INCLUDE_DIR, BoringSSL_SSL_LIBRARY,
#            BoringSSL_CRYPTO_LIBRARY, BoringSSL_API_VERSION.

if(NOT BORINGSSL_ROOT AND DEFINED ENV{BORINGSSL_ROOT})
  set(BORINGSSL_ROOT "$ENV{BORINGSSL_ROOT}")
endif()

set(_bssl_multiarch "")
if(CMAKE_LIBRARY_ARCHITECTURE)
  set(_bssl_multiarch "${CMAKE_LIBRARY_ARCHITECTURE}")
endif()

if(BORINGSSL_ROOT)
  set(_bssl_inc_hints "${BORINGSSL_ROOT}/include")
  set(_bssl_lib_hints "${BORINGSSL_ROOT}/lib" "${BORINGSSL_ROOT}/lib64"
      "${BORINGSSL_ROOT}/build" "${BORINGSSL_ROOT}/build/ssl" "${BORINGSSL_ROOT}/build/crypto")
  set(_bssl_no_default NO_DEFAULT_PATH)
else()
  set(_bssl_inc_hints "/usr/include/android")
  set(_bssl_lib_hints "/usr/lib/${_bssl_multiarch}/android" "/usr/lib/android")
  set(_bssl_no_default NO_DEFAULT_PATH)
endif()

find_path(BoringSSL_INCLUDE_DIR NAMES openssl/base.h HINTS ${_bssl_inc_hints} ${_bssl_no_default})
find_library(BoringSSL_SSL_LIBRARY NAMES ssl HINTS ${_bssl_lib_hints} ${_bssl_no_default})
find_library(BoringSSL_CRYPTO_LIBRARY NAMES crypto HINTS ${_bssl_lib_hints} ${_bssl_no_default})

set(_bssl_is_boring FALSE)
if(BoringSSL_INCLUDE_DIR AND EXISTS "${BoringSSL_INCLUDE_DIR}/openssl/base.h")
  file(STRINGS "${BoringSSL_INCLUDE_DIR}/openssl/base.h" _bssl_marker REGEX "define OPENSSL_IS_BORINGSSL")
  if(_bssl_marker)
    set(_bssl_is_boring TRUE)
  else()
    set(BoringSSL_INCLUDE_DIR "BoringSSL_INCLUDE_DIR-NOTFOUND" CACHE PATH "" FORCE)
  endif()
  file(STRINGS "${BoringSSL_INCLUDE_DIR}/openssl/base.h" _bssl_api REGEX "^#define BORINGSSL_API_VERSION [0-9]+")
  string(REGEX REPLACE "^#define BORINGSSL_API_VERSION ([0-9]+).*" "\\1" BoringSSL_API_VERSION "${_bssl_api}")
endif()

if(BORINGSSL_ROOT)
  set(_bssl_where "in BORINGSSL_ROOT=${BORINGSSL_ROOT}")
else()
  set(_bssl_where "in /usr/include/android and /usr/lib/${_bssl_multiarch}/android")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(BoringSSL
  REQUIRED_VARS BoringSSL_INCLUDE_DIR BoringSSL_SSL_LIBRARY BoringSSL_CRYPTO_LIBRARY
  REASON_FAILURE_MESSAGE
    "BoringSSL not found ${_bssl_where}: install it with 'apt-get install android-libboringssl-dev' or set BORINGSSL_ROOT to a BoringSSL build or install tree")

# A shared library is imported as SHARED so that CMake puts its directory into the
# build and consumer rpath (Debian's android directory is not on the loader's path).
function(_boringssl_lib_type lib out)
  if(lib MATCHES "\\.a$")
    set(${out} STATIC PARENT_SCOPE)
  else()
    set(${out} SHARED PARENT_SCOPE)
  endif()
endfunction()

if(BoringSSL_FOUND)
  if(NOT TARGET BoringSSL::crypto)
    _boringssl_lib_type("${BoringSSL_CRYPTO_LIBRARY}" _bssl_crypto_type)
    add_library(BoringSSL::crypto ${_bssl_crypto_type} IMPORTED)
    set_target_properties(BoringSSL::crypto PROPERTIES
      IMPORTED_LOCATION "${BoringSSL_CRYPTO_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${BoringSSL_INCLUDE_DIR}")
    find_package(Threads REQUIRED)
    set_property(TARGET BoringSSL::crypto APPEND PROPERTY INTERFACE_LINK_LIBRARIES Threads::Threads)
  endif()
  if(NOT TARGET BoringSSL::ssl)
    _boringssl_lib_type("${BoringSSL_SSL_LIBRARY}" _bssl_ssl_type)
    add_library(BoringSSL::ssl ${_bssl_ssl_type} IMPORTED)
    set_target_properties(BoringSSL::ssl PROPERTIES
      IMPORTED_LOCATION "${BoringSSL_SSL_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${BoringSSL_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES BoringSSL::crypto)
  endif()
endif()
mark_as_advanced(BoringSSL_INCLUDE_DIR BoringSSL_SSL_LIBRARY BoringSSL_CRYPTO_LIBRARY)
