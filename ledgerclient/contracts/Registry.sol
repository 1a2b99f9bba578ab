// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title nook identity registry
/// @notice An implementation of the ERC-1056 (lightweight identity) interface,
/// so did:ethr resolvers can read nook identities. An identity is an address;
/// it is its own owner until changeOwner moves control to another key. The
/// owner adds delegates of a type (a bytes32) valid until a time, and sets
/// attributes (name, value, validity) that live only in events. Every write
/// has a ...Signed twin that anyone (a relayer with ether) may submit on
/// behalf of an owner who signed it; a per-owner nonce stops replays.
contract Registry {
    /// owners[identity] is the identity's owner; zero means the identity itself.
    mapping(address => address) public owners;
    /// delegates[identity][delegateType][delegate] is the time (seconds) until
    /// which delegate is valid; zero or a past time means not valid.
    mapping(address => mapping(bytes32 => mapping(address => uint256))) public delegates;
    /// changed[identity] is the block of the identity's last event, so a
    /// resolver walks the events backwards through previousChange.
    mapping(address => uint256) public changed;
    /// nonce[owner] counts the signed calls made by owner.
    mapping(address => uint256) public nonce;

    event DIDOwnerChanged(address indexed identity, address owner, uint256 previousChange);
    event DIDDelegateChanged(
        address indexed identity, bytes32 delegateType, address delegate, uint256 validTo, uint256 previousChange
    );
    event DIDAttributeChanged(
        address indexed identity, bytes32 name, bytes value, uint256 validTo, uint256 previousChange
    );

    /// The caller (or the signer of a ...Signed call) is not the identity's owner.
    error NotOwner(address identity, address actor);
    /// The signature of a ...Signed call does not recover to an address.
    error BadSignature();

    modifier onlyOwner(address identity, address actor) {
        if (actor != identityOwner(identity)) revert NotOwner(identity, actor);
        _;
    }

    function identityOwner(address identity) public view returns (address) {
        address owner = owners[identity];
        if (owner != address(0)) return owner;
        return identity;
    }

    function validDelegate(address identity, bytes32 delegateType, address delegate) public view returns (bool) {
        return delegates[identity][delegateType][delegate] > block.timestamp;
    }

    function changeOwner(address identity, address newOwner) external {
        _changeOwner(identity, msg.sender, newOwner);
    }

    function changeOwnerSigned(address identity, uint8 sigV, bytes32 sigR, bytes32 sigS, address newOwner)
        external
    {
        bytes32 h = keccak256(
            abi.encodePacked(
                bytes1(0x19), bytes1(0), this, nonce[identityOwner(identity)], identity, "changeOwner", newOwner
            )
        );
        _changeOwner(identity, _signer(identity, h, sigV, sigR, sigS), newOwner);
    }

    function addDelegate(address identity, bytes32 delegateType, address delegate, uint256 validity) external {
        _addDelegate(identity, msg.sender, delegateType, delegate, validity);
    }

    function addDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate,
        uint256 validity
    ) external {
        bytes32 h = keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                this,
                nonce[identityOwner(identity)],
                identity,
                "addDelegate",
                delegateType,
                delegate,
                validity
            )
        );
        _addDelegate(identity, _signer(identity, h, sigV, sigR, sigS), delegateType, delegate, validity);
    }

    function revokeDelegate(address identity, bytes32 delegateType, address delegate) external {
        _revokeDelegate(identity, msg.sender, delegateType, delegate);
    }

    function revokeDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate
    ) external {
        bytes32 h = keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                this,
                nonce[identityOwner(identity)],
                identity,
                "revokeDelegate",
                delegateType,
                delegate
            )
        );
        _revokeDelegate(identity, _signer(identity, h, sigV, sigR, sigS), delegateType, delegate);
    }

    function setAttribute(address identity, bytes32 name, bytes calldata value, uint256 validity) external {
        _setAttribute(identity, msg.sender, name, value, validity);
    }

    function setAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value,
        uint256 validity
    ) external {
        bytes32 h = keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                this,
                nonce[identityOwner(identity)],
                identity,
                "setAttribute",
                name,
                value,
                validity
            )
        );
        _setAttribute(identity, _signer(identity, h, sigV, sigR, sigS), name, value, validity);
    }

    function revokeAttribute(address identity, bytes32 name, bytes calldata value) external {
        _revokeAttribute(identity, msg.sender, name, value);
    }

    function revokeAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value
    ) external {
        bytes32 h = keccak256(
            abi.encodePacked(
                bytes1(0x19), bytes1(0), this, nonce[identityOwner(identity)], identity, "revokeAttribute", name, value
            )
        );
        _revokeAttribute(identity, _signer(identity, h, sigV, sigR, sigS), name, value);
    }

    /// _signer recovers the signer of h and spends one of its nonces. The
    /// caller's onlyOwner check then rejects a signer that is not the owner,
    /// and a replayed signature hashes with a spent nonce, so it recovers to
    /// some other address and is rejected the same way.
    function _signer(address identity, bytes32 h, uint8 v, bytes32 r, bytes32 s) internal returns (address) {
        address signer = ecrecover(h, v, r, s);
        if (signer == address(0)) revert BadSignature();
        if (signer == identityOwner(identity)) nonce[signer]++;
        return signer;
    }

    function _changeOwner(address identity, address actor, address newOwner) internal onlyOwner(identity, actor) {
        owners[identity] = newOwner;
        emit DIDOwnerChanged(identity, newOwner, changed[identity]);
        changed[identity] = block.number;
    }

    function _addDelegate(address identity, address actor, bytes32 delegateType, address delegate, uint256 validity)
        internal
        onlyOwner(identity, actor)
    {
        uint256 validTo = _until(validity);
        delegates[identity][delegateType][delegate] = validTo;
        emit DIDDelegateChanged(identity, delegateType, delegate, validTo, changed[identity]);
        changed[identity] = block.number;
    }

    function _revokeDelegate(address identity, address actor, bytes32 delegateType, address delegate)
        internal
        onlyOwner(identity, actor)
    {
        delegates[identity][delegateType][delegate] = block.timestamp;
        emit DIDDelegateChanged(identity, delegateType, delegate, block.timestamp, changed[identity]);
        changed[identity] = block.number;
    }

    function _setAttribute(address identity, address actor, bytes32 name, bytes calldata value, uint256 validity)
        internal
        onlyOwner(identity, actor)
    {
        emit DIDAttributeChanged(identity, name, value, _until(validity), changed[identity]);
        changed[identity] = block.number;
    }

    function _revokeAttribute(address identity, address actor, bytes32 name, bytes calldata value)
        internal
        onlyOwner(identity, actor)
    {
        emit DIDAttributeChanged(identity, name, value, 0, changed[identity]);
        changed[identity] = block.number;
    }

    /// _until is now + validity, saturating instead of reverting on overflow
    /// (a validity of type(uint256).max means "no expiry").
    function _until(uint256 validity) internal view returns (uint256) {
        unchecked {
            uint256 t = block.timestamp + validity;
            return t < validity ? type(uint256).max : t;
        }
    }
}
